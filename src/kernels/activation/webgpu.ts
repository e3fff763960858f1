// WGSL kernels for the activation family: one thread per element, f32. SwiGLU and the tanh-form
// GELU (geluTanh, geglu) build on sigmoid_pair (no tanh, no overflow: contract.ts).
//
// erf and erfc in float32 (WGSL has neither). Two pieces, with coefficients fitted for this file by
// test/kernels/golden/fit_erf_coefficients.py (Chebyshev least squares against mpmath, rounded to
// f32; it also simulates the f32 evaluation below and prints its error):
//   |x| < 1:  erf(x) = x + x·P(x²), P of degree 6 (truncation 1.4e-9 relative); writing the
//             leading term as x itself keeps the final rounding at half an ulp.
//   z ≥ 1:    erfc(z) = exp(−z²)·Q(1/z − 0.55), Q of degree 10 fitted on 1/z ∈ [0.1, 1]
//             (truncation 1.7e-8 relative); past z = 10 erfc underflows float32 and is 0.
//             erf(x) = sign(x)·(1 − erfc(|x|)).
// Error of erf, simulated with a correctly rounded exp: 5.3e-8 absolute over the whole line, about
// one ulp of values near 1 (Abramowitz–Stegun 7.1.26 is 1.5e-7); measured on lavapipe: 6.2e-8.
// erfc's relative error grows in the tail with the rounding of z² and of the device's exp (itself
// exp2(x·log₂e), whose product rounds): 4e-6 at z = 9 simulated. That costs erf nothing
// (erfc(z)·z² ≤ 0.16) and keeps gelu's lower tail, computed as ½·x·erfc(|x|/√2) rather than
// ½·x·(1 + erf(x/√2)), to ~1e-5 relative down to x ≈ −13, where PyTorch's 1 + erf form has only
// absolute accuracy. test/kernels/activation.test.ts measures both on the device.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Storage } from '../../autograd/device.js';
import { sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, wgslType } from '../wgsl.js';
import { checkFloat, checkSame } from './contract.js';

const WG = 256;

/** Horner's rule with fma, highest coefficient first in the output: c[0] + v·(c[1] + v·(…)). */
function horner(coefficients: number[], v: string): string {
  let expr = coefficients[coefficients.length - 1].toPrecision(9);
  for (let i = coefficients.length - 2; i >= 0; i--) expr = `fma(${expr}, ${v}, ${coefficients[i].toPrecision(9)})`;
  return expr;
}

/** erf(x)/x − 1 as a polynomial in s = x², for |x| < 1. */
const ERF_P = [0.128379166, -0.37612626, 0.112835974, -0.0268543288, 0.00518931216, -0.000801885501, 7.88249745e-05];
/** erfc(z)·exp(z²) as a polynomial in 1/z − 0.55, for 1 ≤ z ≤ 10. */
const ERFC_Q = [0.27629438, 0.408834159, -0.181234807, 0.033725217, 0.0449739173, -0.0693266168, 0.0568739027, -0.0255234577, -0.0186954327, 0.0625724941, -0.0501990095];

export const ERF_WGSL = /* wgsl */ `
/** erf(x) for |x| < 1. */
fn erf_small(x: f32) -> f32 {
  let s = x * x;
  return fma(x, ${horner(ERF_P, 's')}, x);
}
/** erfc(z) for z >= 1 (0 past 10, where it underflows). */
fn erfc_large(z0: f32) -> f32 {
  let z = clamp(z0, 1.0, 10.0);
  let t = 1.0 / z - 0.55;
  let q = ${horner(ERFC_Q, 't')};
  return select(q * exp(-z * z), 0.0, z0 > 10.0);
}
/** erfc(z) for z >= 0. */
fn erfc_pos(z: f32) -> f32 {
  return select(1.0 - erf_small(z), erfc_large(z), z >= 1.0);
}
fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  return select(sign(x) * (1.0 - erfc_large(a)), erf_small(x), a < 1.0);
}
/** Φ(x) = ½·erfc(−x/√2). */
fn normal_cdf(x: f32) -> f32 {
  let ec = erfc_pos(abs(x) * 0.707106781186547524);
  return select(1.0 - 0.5 * ec, 0.5 * ec, x < 0.0);
}`;

/** σ(g) and 1 − σ(g) from e = exp(−|g|) alone (see contract.ts). */
export const SIGMOID_WGSL = /* wgsl */ `
fn sigmoid_pair(g: f32) -> vec2<f32> {
  let e = exp(-abs(g));
  let p = 1.0 / (1.0 + e);
  let q = e * p;
  return select(vec2<f32>(q, p), vec2<f32>(p, q), g >= 0.0);
}`;

/**
 * GELU's tanh form as x·σ(2u), and its derivative (see contract.ts); needs SIGMOID_WGSL. One
 * definition for the geluTanh and geglu kernels and the gated skinny product, so they agree bit
 * for bit.
 */
export const GELU_TANH_WGSL = /* wgsl */ `
fn gelu_tanh_2u(x: f32) -> f32 { return 1.5957691216057308 * x * (1.0 + 0.044715 * x * x); }
fn gelu_tanh(x: f32) -> f32 { return x * sigmoid_pair(gelu_tanh_2u(x)).x; }
fn gelu_tanh_grad(x: f32) -> f32 {
  let s = sigmoid_pair(gelu_tanh_2u(x));
  return s.x + x * s.x * s.y * (1.5957691216057308 * (1.0 + 0.134145 * min(x * x, 1e6)));
}`;

/** An elementwise kernel: bindings params, the inputs, the outputs; `body` sees index i. meta: n. */
function elementwise(inputs: string[], outputs: string[], helpers: string, body: string): string {
  let b = 1;
  const decl = [
    ...inputs.map((name) => `@group(0) @binding(${b++}) var<storage, read> ${name}: array<f32>;`),
    ...outputs.map((name) => `@group(0) @binding(${b++}) var<storage, read_write> ${name}: array<f32>;`),
  ];
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
${decl.join('\n')}
${helpers}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  ${body}
}`;
}

const SWIGLU = elementwise(['gate', 'up'], ['y'], SIGMOID_WGSL, `
  let g = gate[i];
  y[i] = g * sigmoid_pair(g).x * up[i];`);

const SWIGLU_BACKWARD = elementwise(['gate', 'up', 'dy'], ['dgate', 'dup'], SIGMOID_WGSL, `
  let g = gate[i];
  let d = dy[i];
  let s = sigmoid_pair(g);
  dup[i] = d * (g * s.x);
  dgate[i] = d * up[i] * s.x * (1.0 + g * s.y);`);

const GELU_TANH_HELPERS = SIGMOID_WGSL + GELU_TANH_WGSL;

const GEGLU = elementwise(['gate', 'up'], ['y'], GELU_TANH_HELPERS, `
  y[i] = gelu_tanh(gate[i]) * up[i];`);

const GEGLU_BACKWARD = elementwise(['gate', 'up', 'dy'], ['dgate', 'dup'], GELU_TANH_HELPERS, `
  let g = gate[i];
  let d = dy[i];
  dup[i] = d * gelu_tanh(g);
  dgate[i] = d * up[i] * gelu_tanh_grad(g);`);

const GELU_TANH = elementwise(['x'], ['y'], GELU_TANH_HELPERS, `
  y[i] = gelu_tanh(x[i]);`);

const GELU_TANH_BACKWARD = elementwise(['x', 'dy'], ['dx'], GELU_TANH_HELPERS, `
  dx[i] = dy[i] * gelu_tanh_grad(x[i]);`);

const GELU = elementwise(['x'], ['y'], ERF_WGSL, `
  let v = x[i];
  y[i] = v * normal_cdf(v);`);

const GELU_BACKWARD = elementwise(['x', 'dy'], ['dx'], ERF_WGSL, `
  let v = x[i];
  // Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π).
  dx[i] = dy[i] * (normal_cdf(v) + v * exp(-0.5 * v * v) * 0.398942280401432678);`);

const ERF = elementwise(['x'], ['y'], ERF_WGSL, `
  y[i] = erf_f32(x[i]);`);

function launch(device: WebGPUDevice, name: string, code: string, inputs: TensorInfo[], outputs: number): TensorInfo[] {
  const x = inputs[0];
  wgslType(x.dtype);
  const n = sizeOf(x.shape);
  const outs: TensorInfo[] = Array.from({ length: outputs }, () => ({ storage: device.alloc(x.dtype, n), shape: x.shape, dtype: x.dtype }));
  if (n > 0) {
    const storages = (ts: TensorInfo[]): Storage[] => ts.map((t) => t.storage);
    device.dispatch({ name, code, meta: new Meta().u32(n).build(), inputs: storages(inputs), outputs: storages(outs), workgroups: grid1d(Math.ceil(n / WG)) });
  }
  return outs;
}

export function registerActivationWebGPU(): void {
  const gpu = (d: unknown) => d as WebGPUDevice;
  registerKernel('swiglu', 'webgpu', (device, [gate, up]) => {
    checkSame('swiglu', ['gate', 'up'], [gate, up]);
    return launch(gpu(device), 'swiglu', SWIGLU, [gate, up], 1);
  });
  registerKernel('swigluBackward', 'webgpu', (device, [gate, up, dy]) => {
    checkSame('swigluBackward', ['gate', 'up', 'dy'], [gate, up, dy]);
    return launch(gpu(device), 'swigluBackward', SWIGLU_BACKWARD, [gate, up, dy], 2);
  });
  registerKernel('geglu', 'webgpu', (device, [gate, up]) => {
    checkSame('geglu', ['gate', 'up'], [gate, up]);
    return launch(gpu(device), 'geglu', GEGLU, [gate, up], 1);
  });
  registerKernel('gegluBackward', 'webgpu', (device, [gate, up, dy]) => {
    checkSame('gegluBackward', ['gate', 'up', 'dy'], [gate, up, dy]);
    return launch(gpu(device), 'gegluBackward', GEGLU_BACKWARD, [gate, up, dy], 2);
  });
  registerKernel('geluTanh', 'webgpu', (device, [x]) => {
    checkFloat('geluTanh', x);
    return launch(gpu(device), 'geluTanh', GELU_TANH, [x], 1);
  });
  registerKernel('geluTanhBackward', 'webgpu', (device, [x, dy]) => {
    checkSame('geluTanhBackward', ['x', 'dy'], [x, dy]);
    return launch(gpu(device), 'geluTanhBackward', GELU_TANH_BACKWARD, [x, dy], 1);
  });
  registerKernel('gelu', 'webgpu', (device, [x]) => {
    checkFloat('gelu', x);
    return launch(gpu(device), 'gelu', GELU, [x], 1);
  });
  registerKernel('geluBackward', 'webgpu', (device, [x, dy]) => {
    checkSame('geluBackward', ['x', 'dy'], [x, dy]);
    return launch(gpu(device), 'geluBackward', GELU_BACKWARD, [x, dy], 1);
  });
  registerKernel('erf', 'webgpu', (device, [x]) => {
    checkFloat('erf', x);
    return launch(gpu(device), 'erf', ERF, [x], 1);
  });
}
