// WGSL kernels for the softmax family, f32 throughout.
// - softmax / logSoftmax, axis last (inner == 1): one workgroup per row, rows folded into a 2-D
//   grid past 65535. Three sweeps over the row: each thread takes the max of its strided slice and
//   a tree reduction in workgroup memory gives the row max m; the same for Σ exp(x − m); then each
//   thread writes its slice (the row is re-read from cache). Workgroup size: see rowWorkgroup.
// - softmax / logSoftmax, other axes (inner > 1): the same three sweeps on [outer, n, inner]
//   without a permute; a workgroup takes 32 neighbouring columns (coalesced loads) and splits the
//   axis 8 or 32 ways, combining the partial maxima and sums in workgroup memory.
// - logSigmoid: one thread per element, min(x, 0) − log1p(exp(−|x|)) with an accurate log1p.
//
// Ladder (H200 through Dawn/Vulkan, f32, compulsory bytes / time, 20 runs after 20 warm-ups;
// a plain copy reaches 1.8 TB/s through this framework):
//   rows      v1 (256 threads): [65536,1024] 1320 GB/s, [8192,8192] 1340, [256,128000] 360 (256
//             rows of 256 threads can't fill the GPU); v2 (≈16 elements per thread, 32…1024
//             threads): 1640, 1440 and 970 GB/s. Short rows [2^20, 64] stay near 600–740 GB/s.
//   columns   v1 (one thread per column, whole axis serially) [8192,8192] axis 0: 52 GB/s;
//             v2 (32 columns × 32 axis splits per workgroup) 1110 GB/s.
//   logSigmoid [2^26] 1880 GB/s, as fast as exp.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, FROM_BITS, Meta, grid1d, wgslLiteral, wgslType, memoShader } from '../wgsl.js';
import { type SoftmaxAttrs, checkFloat, softmaxLayout } from './contract.js';

const WG = 256;
const NEG_INF = wgslLiteral(-Infinity, 'f32');
const NAN = 'from_bits(0x7fc00000u)';

/** Shared WGSL: non-finite constants and the finiteness test (WGSL has no isinf/isnan). */
const HELPERS = /* wgsl */ `
${FROM_BITS}
fn is_finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }`;

/** The value written for element `v` of a row with max `m`, sum of exps `total`. */
function finalExpr(log: boolean): string {
  // log(total) is hoisted out of the loop as `lse` (see the kernels).
  return log ? '(v - m) - lse' : 'exp(v - m) / total';
}

/** One workgroup per row of [rows, n]; meta: n, rows. */
function rowKernelSource(log: boolean, wg: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${HELPERS}
var<workgroup> partial: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let row = wg_flat;
  let n = params[0];
  if (row >= params[1]) { return; }
  let base = row * n;

  var mx = ${NEG_INF};
  for (var k = lid.x; k < n; k += ${wg}u) { mx = max(mx, x[base + k]); }
  partial[lid.x] = mx;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) { partial[lid.x] = max(partial[lid.x], partial[lid.x + s]); }
    workgroupBarrier();
  }
  let m = partial[0];
  // Everyone has read the max before partial[] is reused for the sum.
  workgroupBarrier();

  var acc = 0.0;
  for (var k = lid.x; k < n; k += ${wg}u) { acc += exp(x[base + k] - m); }
  partial[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) { partial[lid.x] += partial[lid.x + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  let lse = log(total);
  let bad = !is_finite(m);
  for (var k = lid.x; k < n; k += ${wg}u) {
    let v = x[base + k];
    y[base + k] = select(${finalExpr(log)}, ${NAN}, bad);
  }
}`;
}

/**
 * Columns of [outer, n, inner] (axis not last), meta: outer, n, inner, column blocks per outer.
 * A workgroup of TX × TY threads takes TX neighbouring columns (so each load of TX floats is one
 * coalesced segment) and splits the axis TY ways; the TY partial maxima and sums meet in a tree in
 * workgroup memory, as in the row kernel.
 */
function columnKernelSource(log: boolean, ty: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${HELPERS}
var<workgroup> partial: array<f32, ${COL_TX * ty}>;
@compute @workgroup_size(${COL_TX}, ${ty})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  ${FLAT_WORKGROUP}
  let n = params[1]; let inner = params[2]; let blocks = params[3];
  if (wg_flat >= params[0] * blocks) { return; }
  let a = wg_flat / blocks;
  let c = (wg_flat % blocks) * ${COL_TX}u + lid.x;
  // Threads past the last column still join every barrier; they read and write nothing.
  let valid = c < inner;
  let base = a * n * inner + c;
  let slot = lid.y * ${COL_TX}u + lid.x;

  var mx = ${NEG_INF};
  if (valid) { for (var k = lid.y; k < n; k += ${ty}u) { mx = max(mx, x[base + k * inner]); } }
  partial[slot] = mx;
  workgroupBarrier();
  for (var s = ${ty / 2}u; s > 0u; s >>= 1u) {
    if (lid.y < s) { partial[slot] = max(partial[slot], partial[slot + s * ${COL_TX}u]); }
    workgroupBarrier();
  }
  let m = partial[lid.x];
  workgroupBarrier();

  var acc = 0.0;
  if (valid) { for (var k = lid.y; k < n; k += ${ty}u) { acc += exp(x[base + k * inner] - m); } }
  partial[slot] = acc;
  workgroupBarrier();
  for (var s = ${ty / 2}u; s > 0u; s >>= 1u) {
    if (lid.y < s) { partial[slot] += partial[slot + s * ${COL_TX}u]; }
    workgroupBarrier();
  }
  let total = partial[lid.x];
  let lse = log(total);
  let bad = !is_finite(m);
  if (valid) {
    for (var k = lid.y; k < n; k += ${ty}u) {
      let v = x[base + k * inner];
      y[base + k * inner] = select(${finalExpr(log)}, ${NAN}, bad);
    }
  }
}`;
}

/**
 * logσ(x) = min(x, 0) − log1p(exp(−|x|)). WGSL has no log1p, and log(1 + z) loses every digit
 * once z = exp(−|x|) drops below f32 epsilon. Goldberg/Kahan's log(u) · z / (u − 1) with u = 1 + z
 * does not survive the driver: Mesa (lavapipe) folds (1 + z) − 1 into z, since SPIR-V float ops
 * are not marked exact, and the result came back 0 for x ≈ 30. So: for z < 0.1 the Taylor series
 * to z⁷ (truncation error < z⁷/8 ≈ 1.3e-8 relative, below f32 epsilon), else log(1 + z), whose
 * rounding of 1 + z costs at most 2⁻²⁴ / log(1.1) ≈ 6e-7 relative. meta: n.
 */
const LOG_SIGMOID = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
/** log(1 + z) for 0 <= z <= 1. */
fn log1p_unit(z: f32) -> f32 {
  let series = z * (1.0 + z * (-0.5 + z * (${1 / 3} + z * (-0.25 + z * (0.2 + z * (${-1 / 6} + z * ${1 / 7}))))));
  return select(log(1.0 + z), series, z < 0.1);
}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  let v = x[i];
  y[i] = min(v, 0.0) - log1p_unit(exp(-abs(v)));
}`;

/** Columns per column-kernel workgroup: 32 floats, one 128-byte segment per load. */
const COL_TX = 32;

/** The most threads a workgroup may have here (the adapter's limit, at most 1024). */
function maxThreads(device: WebGPUDevice): number {
  return Math.min(1024, device.limits.maxComputeInvocationsPerWorkgroup, device.limits.maxComputeWorkgroupSizeX);
}

/**
 * Row workgroup: about 16 elements per thread, a power of two in [32, maxThreads]. Measured on an
 * H200 (GB/s by workgroup size, 32…1024): n = 1024 peaks at 64 threads, 4096 at 256, 8192 at 512,
 * and vocabulary rows (n = 128000, 256 rows) climb to 1024, where the few rows must fill the GPU.
 */
function rowWorkgroup(n: number, limit: number): number {
  let wg = 32;
  while (wg * 16 < n && wg * 2 <= limit) wg *= 2;
  return wg;
}

/** Axis splits per column workgroup: 8, or 32 when there are too few columns to fill the GPU. */
function columnSplits(columns: number, n: number, device: WebGPUDevice): number {
  const big = Math.min(32, Math.floor(maxThreads(device) / COL_TX), device.limits.maxComputeWorkgroupSizeY);
  return columns < 32768 && n >= 64 && big >= 32 ? 32 : 8;
}

function checkF32(op: string, x: TensorInfo): void {
  checkFloat(op, x.dtype);
  wgslType(x.dtype);
}

export function launchSoftmax(device: WebGPUDevice, x: TensorInfo, axis: number, log: boolean): TensorInfo {
  const name = log ? 'logSoftmax' : 'softmax';
  checkF32(name, x);
  const size = sizeOf(x.shape);
  const out: TensorInfo = { storage: device.alloc(x.dtype, size), shape: x.shape, dtype: x.dtype };
  const { outer, n, inner } = softmaxLayout(x.shape, axis);
  if (size === 0) return out;
  if (inner === 1) {
    const wg = rowWorkgroup(n, maxThreads(device));
    device.dispatch({ name, code: rowKernel(log, wg), meta: new Meta().u32(n, outer).build(), inputs: [x.storage], outputs: [out.storage], workgroups: grid1d(outer) });
  } else {
    const blocks = Math.ceil(inner / COL_TX);
    const ty = columnSplits(outer * inner, n, device);
    device.dispatch({ name, code: columnKernel(log, ty), meta: new Meta().u32(outer, n, inner, blocks).build(), inputs: [x.storage], outputs: [out.storage], workgroups: grid1d(outer * blocks) });
  }
  return out;
}

export function launchLogSigmoid(device: WebGPUDevice, x: TensorInfo): TensorInfo {
  checkF32('logSigmoid', x);
  const size = sizeOf(x.shape);
  const out: TensorInfo = { storage: device.alloc(x.dtype, size), shape: x.shape, dtype: x.dtype };
  if (size > 0) {
    device.dispatch({ name: 'logSigmoid', code: LOG_SIGMOID, meta: new Meta().u32(size).build(), inputs: [x.storage], outputs: [out.storage], workgroups: grid1d(Math.ceil(size / WG)) });
  }
  return out;
}

export function registerSoftmaxWebGPU(): void {
  registerKernel<SoftmaxAttrs>('softmax', 'webgpu', (device, [x], { axis }) => [launchSoftmax(device as WebGPUDevice, x, axis, false)]);
  registerKernel<SoftmaxAttrs>('logSoftmax', 'webgpu', (device, [x], { axis }) => [launchSoftmax(device as WebGPUDevice, x, axis, true)]);
  registerKernel('logSigmoid', 'webgpu', (device, [x]) => [launchLogSigmoid(device as WebGPUDevice, x)]);
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
const rowKernel = memoShader(rowKernelSource);
const columnKernel = memoShader(columnKernelSource);
