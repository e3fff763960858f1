// CPU reference for the activation family, in float64: the oracle for the WGSL kernels.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Device } from '../../autograd/device.js';
import { sizeOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { checkFloat, checkSame } from './contract.js';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
/** 2·√(2/π): geluTanh's 2u = TWO_SQRT_2_OVER_PI·x·(1 + 0.044715·x²). */
const TWO_SQRT_2_OVER_PI = 2 * Math.sqrt(2 / Math.PI);

/**
 * erf(x) to ~1e-15 relative. |x| < 2.5: the series erf(x) = 2/√π · x·e^(−x²) · Σₙ (2x²)ⁿ / (1·3·…·(2n+1))
 * (Abramowitz & Stegun 7.1.6; every term positive, so nothing cancels; ≤ 40 terms). Beyond:
 * 1 − erfc(x).
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (!(a < 2.5)) return Number.isNaN(x) ? NaN : Math.sign(x) * (1 - erfcTail(a));
  const t = 2 * a * a;
  let term = 1, sum = 1;
  for (let n = 1; n < 100 && term >= sum * 1e-17; n++) {
    term *= t / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * TWO_OVER_SQRT_PI * a * Math.exp(-a * a) * sum;
}

/**
 * erfc(x) to ~1e-15 relative wherever it is a normal number (so tails keep their digits): 1 − erf
 * below 1 (where erfc > 0.15), the continued fraction from 1 on, 2 − erfc(−x) for x < 0.
 */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  return x < 1 ? 1 - erf(x) : erfcTail(x);
}

/**
 * erfc(x), x ≥ 1: the continued fraction erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …))))
 * (A&S 7.1.14), 200 levels evaluated bottom-up: converged to 7e-16 relative from x = 1 on
 * (checked against mpmath; 100 levels leave 5e-12 at x = 1).
 */
function erfcTail(x: number): number {
  if (x === Infinity) return 0;
  let k = x;
  for (let n = 200; n >= 1; n--) k = x + n / 2 / k;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * k);
}

/** Φ(x), the standard normal CDF, as ½·erfc(−x/√2): accurate in the lower tail too. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT1_2);
}

/** σ(g) and 1 − σ(g) from e = exp(−|g|) alone: no overflow, no cancellation. */
export function sigmoidPair(g: number): [number, number] {
  const e = Math.exp(-Math.abs(g));
  const p = 1 / (1 + e), q = e * p;
  return g >= 0 ? [p, q] : [q, p];
}

/** geluTanh(x) = ½·x·(1 + tanh(u)) = x·σ(2u), u = √(2/π)·(x + 0.044715·x³) (see contract.ts). */
export function geluTanh(x: number): number {
  return x * sigmoidPair(TWO_SQRT_2_OVER_PI * x * (1 + 0.044715 * x * x))[0];
}

/** d geluTanh/dx = σ(2u) + x·σ(2u)·(1 − σ(2u))·2u′ (x² capped in 2u′: see contract.ts). */
export function geluTanhGrad(x: number): number {
  const [s, oneMinus] = sigmoidPair(TWO_SQRT_2_OVER_PI * x * (1 + 0.044715 * x * x));
  return s + x * s * oneMinus * TWO_SQRT_2_OVER_PI * (1 + 0.134145 * Math.min(x * x, 1e6));
}

function like(device: Device, x: TensorInfo): TensorInfo {
  return { storage: device.alloc(x.dtype, sizeOf(x.shape)), shape: x.shape, dtype: x.dtype };
}

function unary(name: string, f: (v: number) => number): void {
  registerKernel(name, 'cpu', (device, [x]) => {
    checkFloat(name, x);
    const y = like(device, x);
    const src = cpuArray(x.storage), dst = cpuArray(y.storage);
    for (let i = 0; i < dst.length; i++) dst[i] = f(src[i]);
    return [y];
  });
}

export function registerActivationCpu(): void {
  registerKernel('swiglu', 'cpu', (device, [gate, up]) => {
    checkSame('swiglu', ['gate', 'up'], [gate, up]);
    const y = like(device, gate);
    const g = cpuArray(gate.storage), u = cpuArray(up.storage), dst = cpuArray(y.storage);
    for (let i = 0; i < dst.length; i++) dst[i] = g[i] * sigmoidPair(g[i])[0] * u[i];
    return [y];
  });
  // d silu(g)/dg = σ(g)·(1 + g·(1 − σ(g))).
  registerKernel('swigluBackward', 'cpu', (device, [gate, up, dy]) => {
    checkSame('swigluBackward', ['gate', 'up', 'dy'], [gate, up, dy]);
    const dgate = like(device, gate), dup = like(device, gate);
    const g = cpuArray(gate.storage), u = cpuArray(up.storage), d = cpuArray(dy.storage);
    const dg = cpuArray(dgate.storage), du = cpuArray(dup.storage);
    for (let i = 0; i < dg.length; i++) {
      const [s, oneMinus] = sigmoidPair(g[i]);
      du[i] = d[i] * g[i] * s;
      dg[i] = d[i] * u[i] * s * (1 + g[i] * oneMinus);
    }
    return [dgate, dup];
  });
  registerKernel('geglu', 'cpu', (device, [gate, up]) => {
    checkSame('geglu', ['gate', 'up'], [gate, up]);
    const y = like(device, gate);
    const g = cpuArray(gate.storage), u = cpuArray(up.storage), dst = cpuArray(y.storage);
    for (let i = 0; i < dst.length; i++) dst[i] = geluTanh(g[i]) * u[i];
    return [y];
  });
  registerKernel('gegluBackward', 'cpu', (device, [gate, up, dy]) => {
    checkSame('gegluBackward', ['gate', 'up', 'dy'], [gate, up, dy]);
    const dgate = like(device, gate), dup = like(device, gate);
    const g = cpuArray(gate.storage), u = cpuArray(up.storage), d = cpuArray(dy.storage);
    const dg = cpuArray(dgate.storage), du = cpuArray(dup.storage);
    for (let i = 0; i < dg.length; i++) {
      du[i] = d[i] * geluTanh(g[i]);
      dg[i] = d[i] * u[i] * geluTanhGrad(g[i]);
    }
    return [dgate, dup];
  });
  unary('geluTanh', geluTanh);
  registerKernel('geluTanhBackward', 'cpu', (device, [x, dy]) => {
    checkSame('geluTanhBackward', ['x', 'dy'], [x, dy]);
    const dx = like(device, x);
    const src = cpuArray(x.storage), d = cpuArray(dy.storage), dst = cpuArray(dx.storage);
    for (let i = 0; i < dst.length; i++) dst[i] = d[i] * geluTanhGrad(src[i]);
    return [dx];
  });
  unary('gelu', (v) => v * normalCdf(v));
  unary('erf', erf);
  // d gelu/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
  registerKernel('geluBackward', 'cpu', (device, [x, dy]) => {
    checkSame('geluBackward', ['x', 'dy'], [x, dy]);
    const dx = like(device, x);
    const src = cpuArray(x.storage), d = cpuArray(dy.storage), dst = cpuArray(dx.storage);
    for (let i = 0; i < dst.length; i++) {
      const v = src[i];
      dst[i] = d[i] * (normalCdf(v) + v * Math.exp(-0.5 * v * v) * INV_SQRT_2PI);
    }
    return [dx];
  });
}
