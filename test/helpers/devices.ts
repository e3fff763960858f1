// Test helpers: both devices, seeded random data, closeness checks.
import type { ExecutionContext } from 'ava';
import { cpuDevice, webgpuDevice, type Device, type TypedArray } from '../../src/index.js';
import type { WebGPUDevice } from '../../src/device/webgpu/webgpu-device.js';
import { mulberry32 } from '../../src/autograd/random.js';

/**
 * The WebGPU device, or null when there is none. Under CI (or RELPO_REQUIRE_WEBGPU=1) a missing
 * adapter is an error, so GPU tests fail instead of being skipped.
 */
export async function gpuOrSkip(t: ExecutionContext): Promise<WebGPUDevice | null> {
  const gpu = await webgpuDevice();
  if (!gpu) {
    if (process.env.CI || process.env.RELPO_REQUIRE_WEBGPU === '1') throw new Error('no WebGPU adapter, and CI requires one');
    t.log('no WebGPU adapter: GPU half of this test skipped');
  }
  return gpu;
}

export const cpu: Device = cpuDevice();

/** The CPU device, and the WebGPU device when there is one (see gpuOrSkip). */
export async function bothDevices(t: ExecutionContext): Promise<Device[]> {
  const gpu = await gpuOrSkip(t);
  return gpu ? [cpu, gpu] : [cpu];
}

/** A seeded generator, so failures reproduce. */
export function rng(seed: number): () => number {
  return mulberry32(seed >>> 0 || 1);
}

/** n values uniform in [lo, hi). */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Asserts |a − e| ≤ atol + rtol·|e| elementwise (NaN matches NaN, ±Inf must match exactly). */
export function assertClose(t: ExecutionContext, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance = {}, what = 'values'): void {
  const { rtol = 1e-5, atol = 1e-6 } = tol;
  t.is(actual.length, expected.length, `${what}: length`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a !== e) return void t.fail(`${what}[${i}]: got ${a}, expected ${e}`);
      continue;
    }
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (err > worstErr) {
      worstErr = err;
      worst = i;
    }
  }
  if (worst >= 0) t.fail(`${what}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  else t.pass();
}

/**
 * max|got − want| / max|want| ≤ tol. Per-element relative error would be meaningless for outputs
 * that cancel to near zero; float32 accumulation error scales with the magnitude of the terms, which
 * the largest output bounds. With inputs in [-1, 1) and K ≤ 257 the typical error is ~√K·2⁻²⁴·max
 * (≈1e-6 relative), so 1e-5 has margin and still catches any wrong index (an O(1) error).
 */
export function assertMaxRel(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  t.is(got.length, want.length, `${what}: length`);
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  if (Number.isNaN(err)) return void t.fail(`${what}: NaN in the result`);
  const rel = scale === 0 ? err : err / scale;
  t.true(rel <= tol, `${what}: max error ${err} over max |ref| ${scale} = ${rel.toExponential(2)} > ${tol}`);
}

export async function values(x: { data(): Promise<TypedArray> }): Promise<number[]> {
  return Array.from(await x.data());
}
