// WGSL kernels for the norm family, f32 throughout. One workgroup per row of [rows, n] (rows
// folded into a 2-D grid past 65535), as the softmax row kernel:
// - each thread accumulates a strided slice of the row, a tree in workgroup memory combines the
//   partial sums, and every thread reads the total back; then each thread writes its slice (the
//   row is re-read, from cache for the sizes of hidden states).
// - rmsNorm: one reduction (Σx²). addRmsNorm: the same on s = x + residual, which it also writes
//   (a pre-norm block's residual add and the next norm in one pass, for inference). layerNorm:
//   two (the mean, then Σ(x − μ)² around it: the two-pass variance does not cancel
//   catastrophically as E[x²] − μ² can).
// - backward: rmsNorm reduces Σx² and Σ g·x together (vec2 partials, g = w·dy); layerNorm the
//   mean first, then Σ(x − μ)², Σg and Σ g·(x − μ) together (vec4 partials, one unused). A
//   workgroup takes a block of R consecutive rows (at most 1024 blocks: contract.ts normPartials)
//   and adds their weight-gradient terms into one partial row; each thread owns the same columns
//   in every row, so the adds need no atomics.
// - rmsNorm, addRmsNorm and rmsNormBackward with an offset c (Gemma's 1 + w) read the weight as
//   (w[k] + c), one f32 add correctly rounded as the add kernel's, so the composition's bits; the
//   variant without one (c = 0) has no add in its source, nor a −0 + 0 turned to +0.
// Workgroup size: a power of two in [32, 256] with about 16 elements per thread (256 threads ×
// vec4 = 4 KiB of workgroup memory, inside WebGPU's 16 KiB minimum).
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, wgslType, memoShader } from '../wgsl.js';
import { type NormAttrs, type NormBackwardAttrs, type RmsNormAttrs, checkAddNormInputs, checkGradInput, checkNormInputs, normLayout, normPartials } from './contract.js';

/** The WGSL that sums `partial[0..wg)` into partial[0] (T: f32 or a vector); all threads must reach it. */
function treeSum(wg: number): string {
  return /* wgsl */ `
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) { partial[lid.x] += partial[lid.x + s]; }
    workgroupBarrier();
  }`;
}

/** The weight as an RMSNorm kernel multiplies by it: w[k], or w[k] + c (c in params[4]). */
const weightAt = (offset: boolean): string => (offset ? '(w[k] + bitcast<f32>(params[4]))' : 'w[k]');

/** Bindings: params, then the inputs, then the outputs, all f32 arrays. meta: n, rows, eps, R, offset. */
function header(inputs: string[], outputs: string[]): string {
  const lines = ['@group(0) @binding(0) var<storage, read> params: array<u32>;'];
  let b = 1;
  for (const name of inputs) lines.push(`@group(0) @binding(${b++}) var<storage, read> ${name}: array<f32>;`);
  for (const name of outputs) lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${name}: array<f32>;`);
  return lines.join('\n');
}

/**
 * The start of a backward `main`: workgroup `blk` takes rows blk·R .. blk·R + R − 1 (params[3] = R)
 * one after another, adding each row's weight-gradient terms into partial row blk. Every exit
 * and the loop bound are uniform per workgroup, as the tree sums' barriers need.
 */
const BLOCK_PRELUDE = `
  ${FLAT_WORKGROUP}
  let blk = wg_flat;
  let n = params[0]; let rows = params[1]; let R = params[3];
  if (blk * R >= rows) { return; }
  let eps = bitcast<f32>(params[2]);
  let nf = f32(n);`;

/** One row of a backward block: the row's index and base, and an exit past the last row. */
const BLOCK_ROW = `
    let row = blk * R + rr;
    if (row >= rows) { break; }
    let base = row * n;`;

/** Adds a row's term into partial row blk (the first row of the block overwrites it). */
const ADD_TERM = 'terms[blk * n + k] = select(terms[blk * n + k], 0.0, rr == 0u) + g * xh;';

/** The start of `main`: row index, early exit past the last row (uniform per workgroup), n, eps. */
const ROW_PRELUDE = `
  ${FLAT_WORKGROUP}
  let row = wg_flat;
  let n = params[0];
  if (row >= params[1]) { return; }
  let eps = bitcast<f32>(params[2]);
  let nf = f32(n);
  let base = row * n;`;

/**
 * RMSNorm of each row; with `residual`, of s = x + res, which it also writes (addRmsNorm: the same
 * loop and tree on s, so the two ops' bits).
 */
function rmsForwardSource(wg: number, residual: boolean, offset: boolean): string {
  return /* wgsl */ `
${residual ? header(['x', 'res', 'w'], ['s', 'y']) : header(['x', 'w'], ['y'])}
var<workgroup> partial: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${BUILTINS_1D}) {
  ${ROW_PRELUDE}
  var acc = 0.0;
  for (var k = lid.x; k < n; k += ${wg}u) { ${residual ? 'let v = x[base + k] + res[base + k]; s[base + k] = v;' : 'let v = x[base + k];'} acc += v * v; }
  partial[lid.x] = acc;
  ${treeSum(wg)}
  // Hugging Face: hidden * rsqrt(mean(hidden²) + eps), then weight * that.
  let r = inverseSqrt(partial[0] / nf + eps);
  for (var k = lid.x; k < n; k += ${wg}u) { y[base + k] = ${weightAt(offset)} * (${residual ? 's' : 'x'}[base + k] * r); }
}`;
}

/**
 * The row mean, taken around the row's first element: dm = mean(x − x₀), so x − μ is formed as
 * (x − x₀) − dm. x − x₀ is exact for values within a factor 2 of x₀ (Sterbenz), and its sum is small,
 * so a large common offset costs no digits: summing x ≈ 1000 directly in f32 loses ~5e-4 on μ
 * (seen as a 1.2e-4 error in y on an H200, where lavapipe happened to pass). `acc` is declared here;
 * partial[] is free again when it returns.
 */
function shiftedMean(wg: number, step: string, zero: string, lane: string): string {
  return `let shift = x[base];
  var acc = ${zero};
  for (var k = lid.x; k < n; k += ${wg}u) { ${step} }
  partial[lid.x] = acc;
  ${treeSum(wg)}
  let dm = partial[0]${lane} / nf;
  // Everyone has read the mean before partial[] is reused.
  workgroupBarrier();`;
}

function layerForwardSource(wg: number): string {
  return /* wgsl */ `
${header(['x', 'w', 'b'], ['y'])}
var<workgroup> partial: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${BUILTINS_1D}) {
  ${ROW_PRELUDE}
  ${shiftedMean(wg, 'acc += x[base + k] - shift;', '0.0', '')}
  acc = 0.0;
  for (var k = lid.x; k < n; k += ${wg}u) { let d = (x[base + k] - shift) - dm; acc += d * d; }
  partial[lid.x] = acc;
  ${treeSum(wg)}
  let r = inverseSqrt(partial[0] / nf + eps);
  for (var k = lid.x; k < n; k += ${wg}u) { y[base + k] = ((x[base + k] - shift) - dm) * r * w[k] + b[k]; }
}`;
}

/** dx = r·(g − x̂·m), m = mean(g ⊙ x̂) = r·Σ(g·x)/n; terms = dy ⊙ x̂, summed over the block's rows. */
function rmsBackwardSource(wg: number, weightGrad: boolean, offset: boolean): string {
  return /* wgsl */ `
${header(['x', 'w', 'dy'], weightGrad ? ['dx', 'terms'] : ['dx'])}
var<workgroup> partial: array<vec2<f32>, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${BUILTINS_1D}) {
  ${BLOCK_PRELUDE}
  for (var rr = 0u; rr < R; rr++) {
    ${BLOCK_ROW}
    var acc = vec2<f32>(0.0);
    for (var k = lid.x; k < n; k += ${wg}u) {
      let v = x[base + k];
      acc += vec2<f32>(v * v, ${weightAt(offset)} * dy[base + k] * v);
    }
    partial[lid.x] = acc;
    ${treeSum(wg)}
    let tot = partial[0];
    let r = inverseSqrt(tot.x / nf + eps);
    let m = r * tot.y / nf;
    for (var k = lid.x; k < n; k += ${wg}u) {
      let g = dy[base + k];
      let xh = x[base + k] * r;
      dx[base + k] = r * (${weightAt(offset)} * g - xh * m);
      ${weightGrad ? ADD_TERM : ''}
    }
    // Everyone has read partial[0] before the next row's tree overwrites it.
    workgroupBarrier();
  }
}`;
}

/** dx = r·(g − mean(g) − x̂·m), m = mean(g ⊙ x̂) = r·Σ g·(x − μ)/n; terms = dy ⊙ x̂, summed over the block's rows. */
function layerBackwardSource(wg: number, weightGrad: boolean): string {
  return /* wgsl */ `
${header(['x', 'w', 'dy'], weightGrad ? ['dx', 'terms'] : ['dx'])}
var<workgroup> partial: array<vec4<f32>, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${BUILTINS_1D}) {
  ${BLOCK_PRELUDE}
  for (var rr = 0u; rr < R; rr++) {
    ${BLOCK_ROW}
    ${shiftedMean(wg, 'acc.x += x[base + k] - shift;', 'vec4<f32>(0.0)', '.x')}
    acc = vec4<f32>(0.0);
    for (var k = lid.x; k < n; k += ${wg}u) {
      let d = (x[base + k] - shift) - dm;
      let g = w[k] * dy[base + k];
      acc += vec4<f32>(d * d, g, g * d, 0.0);
    }
    partial[lid.x] = acc;
    ${treeSum(wg)}
    let tot = partial[0];
    let r = inverseSqrt(tot.x / nf + eps);
    let meanG = tot.y / nf;
    let m = r * tot.z / nf;
    for (var k = lid.x; k < n; k += ${wg}u) {
      let g = dy[base + k];
      let xh = ((x[base + k] - shift) - dm) * r;
      dx[base + k] = r * (w[k] * g - meanG - xh * m);
      ${weightGrad ? ADD_TERM : ''}
    }
    workgroupBarrier();
  }
}`;
}

/** About 16 elements per thread, a power of two in [32, 256]. */
function rowWorkgroup(n: number): number {
  let wg = 32;
  while (wg * 16 < n && wg < 256) wg *= 2;
  return wg;
}

function like(device: WebGPUDevice, x: TensorInfo): TensorInfo {
  wgslType(x.dtype);
  return { storage: device.alloc(x.dtype, sizeOf(x.shape)), shape: x.shape, dtype: x.dtype };
}

/** One workgroup per block of R rows (the forward kernels: R = 1, a row each). meta: n, rows, eps, R, offset. */
function launch(device: WebGPUDevice, name: string, code: (wg: number) => string, x: TensorInfo, inputs: TensorInfo[], outputs: TensorInfo[], eps: number, R = 1, offset = 0): void {
  const { rows, n } = normLayout(x.shape);
  if (rows === 0) return;
  const wg = rowWorkgroup(n);
  const meta = new Meta().u32(n, rows).f32(eps).u32(R).f32(offset).build();
  device.dispatch({ name, code: code(wg), meta, inputs: inputs.map((t) => t.storage), outputs: outputs.map((t) => t.storage), workgroups: grid1d(Math.ceil(rows / R)) });
}

export function registerNormWebGPU(): void {
  registerKernel<RmsNormAttrs>('rmsNorm', 'webgpu', (device, [x, w], { eps, offset }) => {
    checkNormInputs('rmsNorm', x, [['weight', w]]);
    const y = like(device as WebGPUDevice, x);
    launch(device as WebGPUDevice, 'rmsNorm', (wg) => rmsForward(wg, false, offset !== 0), x, [x, w], [y], eps, 1, offset);
    return [y];
  });
  registerKernel<RmsNormAttrs>('addRmsNorm', 'webgpu', (device, [x, res, w], { eps, offset }) => {
    checkAddNormInputs(x, res, w);
    const sum = like(device as WebGPUDevice, x), y = like(device as WebGPUDevice, x);
    launch(device as WebGPUDevice, 'addRmsNorm', (wg) => rmsForward(wg, true, offset !== 0), x, [x, res, w], [sum, y], eps, 1, offset);
    return [sum, y];
  });
  registerKernel<NormAttrs>('layerNorm', 'webgpu', (device, [x, w, b], { eps }) => {
    checkNormInputs('layerNorm', x, [['weight', w], ['bias', b]]);
    const y = like(device as WebGPUDevice, x);
    launch(device as WebGPUDevice, 'layerNorm', layerForward, x, [x, w, b], [y], eps);
    return [y];
  });
  const backward = { rmsNormBackward: rmsBackward, layerNormBackward: (wg: number, weightGrad: boolean) => layerBackward(wg, weightGrad) };
  for (const [name, kernel] of Object.entries(backward)) {
    registerKernel<NormBackwardAttrs>(name, 'webgpu', (device, [x, w, dy], { eps, weightGrad, offset = 0 }) => {
      checkNormInputs(name, x, [['weight', w]]);
      checkGradInput(name, x, dy);
      const gpu = device as WebGPUDevice;
      const { rows, n } = normLayout(x.shape);
      const { R, P } = normPartials(rows);
      const outs = [like(gpu, x)];
      if (weightGrad) outs.push({ storage: gpu.alloc(x.dtype, P * n), shape: [P, n], dtype: x.dtype });
      launch(gpu, name, (wg) => kernel(wg, weightGrad, offset !== 0), x, [x, w, dy], outs, eps, R, offset);
      return outs;
    });
  }
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
const rmsForward = memoShader(rmsForwardSource);
const layerForward = memoShader(layerForwardSource);
const rmsBackward = memoShader(rmsBackwardSource);
const layerBackward = memoShader(layerBackwardSource);
