// WGSL RoPE: one thread per (row, k) of [B·H·T, D − R/2]: for k < R/2 it rotates the pair
// (k, k + R/2), for k ≥ R/2 it copies element k + R/2 (the pass-through dims R … D−1). Each
// thread computes its angle from the position and inv_freq (no cos/sin tables in memory) and
// evaluates cos and sin with its own range reduction and polynomials: WGSL's builtin sin/cos
// promise an error bound only on [−π, π] (Vulkan: 2⁻¹¹ absolute there), and angles reach 10⁵ rad.
//
// sincos: k = round(θ·2/π), r = θ − k·π/2 by Cody–Waite with π/2 split into five float32 parts
// of 7 significant bits each (the last: the rest), so every product k·Pᵢ is exact for
// |k| < 2¹⁷ and each subtraction cancels exactly; this holds whether or not the driver fuses
// them into FMAs. Then Cephes' sinf/cosf minimax polynomials on |r| ≤ π/4 (~1 ulp) and the
// quadrant k mod 4. Measured (numpy float32 simulation against mpmath): ≤ 1e-7 absolute for
// |θ| ≤ 2·10⁵; past 2¹⁷·π/2 the products stop being exact and the error grows toward ulp(θ).
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, wgslType } from '../wgsl.js';
import { type RopeAttrs, type RopeLayout, ropeLayout, ropePairLayout } from './contract.js';

/** Threads per workgroup of the RoPE kernels (and of rotateAndCache, which shares their code). */
export const ROPE_WG = 256;
const WG = ROPE_WG;

/** vec2(cos θ, sin θ); see the file comment. */
export const SINCOS_WGSL = /* wgsl */ `
fn sincos(theta: f32) -> vec2<f32> {
  let k = round(theta * 0.636619772367581343);
  var r = theta - k * 1.578125;
  r = r - k * -0.00732421875;
  r = r - k * -4.470348358154297e-06;
  r = r - k * 1.5832483768463135e-08;
  r = r - k * 6.07710062827671e-11;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  // Quadrant k mod 4 (two's complement & 3 is the floor modulus, right for negative k too).
  switch (i32(k) & 3) {
    case 0: { return vec2<f32>(c, s); }
    case 1: { return vec2<f32>(-s, c); }
    case 2: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}`;

/**
 * The rotation of thread i of tensor j (x{j} → y{j}); HT: that tensor's heads · T. The names in
 * scope: params (positions per batch at [6], sign of sin at [7]), w, half, d, seq, pos, inv_freq.
 * `to`/`at` write elsewhere: into array `to` with the row's base `at` (a WGSL expression of `row`),
 * e.g. a key cache's column (decode/webgpu.ts).
 */
export function rotate(j: number, i: string, HT: string, to = `y${j}`, at = 'row * d'): string {
  return `{
    let row = (${i}) / w;
    let k = (${i}) % w;
    let base = row * d;
    let out = ${at};
    if (k < half) {
      let t = row % seq;
      let p = pos[select(t, (row / ${HT}) * seq + t, params[6] != 0u)];
      // The float32 angle, as Hugging Face computes it (see contract.ts).
      let cs = sincos(f32(p) * inv_freq[k]);
      let sn = cs.y * bitcast<f32>(params[7]);
      let e1 = x${j}[base + k];
      let e2 = x${j}[base + k + half];
      ${to}[out + k] = e1 * cs.x - e2 * sn;
      ${to}[out + k + half] = e2 * cs.x + e1 * sn;
    } else {
      let jj = k + half;
      ${to}[out + jj] = x${j}[base + jj];
    }
  }`;
}

/**
 * The start of a RoPE kernel's main (after its bindings and SINCOS_WGSL): thread i, the bounds check
 * against params[0], and the names rotate() reads (w, half, d, seq from params[1..4]).
 */
export const ROPE_MAIN_START = /* wgsl */ `@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  let w = params[1]; let half = params[2]; let d = params[3]; let seq = params[4];`;

/**
 * count tensors of one B, T and D (heads may differ) sharing positions: threads 0 … params[8] − 1
 * rotate x0, the rest x1 (count 2: a decoding step's queries and keys in one launch).
 * meta: threads (all tensors), W = D − R/2, R/2, D, T, H·T of x0, positions per batch (0/1), sign of
 * sin (f32), then for count 2: x0's threads, H·T of x1.
 */
function ropeSource(count: number): string {
  const xs = Array.from({ length: count }, (_, j) => `@group(0) @binding(${1 + j}) var<storage, read> x${j}: array<f32>;`);
  const ys = Array.from({ length: count }, (_, j) => `@group(0) @binding(${count + 3 + j}) var<storage, read_write> y${j}: array<f32>;`);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
${xs.join('\n')}
@group(0) @binding(${1 + count}) var<storage, read> pos: array<i32>;
@group(0) @binding(${2 + count}) var<storage, read> inv_freq: array<f32>;
${ys.join('\n')}
${SINCOS_WGSL}
${ROPE_MAIN_START}
  ${count === 1 ? rotate(0, 'i', 'params[5]') : `if (i < params[8]) ${rotate(0, 'i', 'params[5]')} else ${rotate(1, 'i - params[8]', 'params[9]')}`}
}`;
}

const ROPE = ropeSource(1);
const ROPE_PAIR = ropeSource(2);

/**
 * Rotates one tensor, or two of one B, T and D (q's threads first, then k's), in one launch into
 * new tensors; `layouts` from ropeLayout / ropePairLayout.
 */
function dispatchRope(gpu: WebGPUDevice, name: string, xs: TensorInfo[], layouts: RopeLayout[], positions: TensorInfo, invFreq: TensorInfo, inverse: boolean): TensorInfo[] {
  for (const x of xs) wgslType(x.dtype);
  wgslType(invFreq.dtype);
  const outs = xs.map((x) => ({ storage: gpu.alloc(x.dtype, sizeOf(x.shape)), shape: x.shape, dtype: x.dtype }));
  const [l0] = layouts;
  const w = l0.headDim - l0.half;
  const threads = xs.map((x, j) => (sizeOf(x.shape) / layouts[j].headDim) * w);
  const total = threads.reduce((a, b) => a + b, 0);
  if (total > 0) {
    const meta = new Meta().u32(total, w, l0.half, l0.headDim, l0.seq, l0.heads * l0.seq, l0.perBatch ? 1 : 0).f32(inverse ? -1 : 1);
    if (xs.length === 2) meta.u32(threads[0], layouts[1].heads * layouts[1].seq);
    gpu.dispatch({ name, code: xs.length === 2 ? ROPE_PAIR : ROPE, meta: meta.build(), inputs: [...xs.map((x) => x.storage), positions.storage, invFreq.storage], outputs: outs.map((o) => o.storage), workgroups: grid1d(Math.ceil(total / WG)) });
  }
  return outs;
}

export function registerRopeWebGPU(): void {
  registerKernel<RopeAttrs>('applyRope', 'webgpu', (device, [x, positions, invFreq], { rotaryDim, inverse }) =>
    dispatchRope(device as WebGPUDevice, 'applyRope', [x], [ropeLayout(x, positions, invFreq, rotaryDim)], positions, invFreq, inverse));
  // Queries and keys (one B, T, D) in one launch.
  registerKernel<RopeAttrs>('applyRopePair', 'webgpu', (device, [q, k, positions, invFreq], { rotaryDim, inverse }) =>
    dispatchRope(device as WebGPUDevice, 'applyRopePair', [q, k], ropePairLayout(q, k, positions, invFreq, rotaryDim), positions, invFreq, inverse));
}
