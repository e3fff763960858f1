// WGSL reductions along one axis of [outer, len, inner].
// - inner == 1 (reducing the last axis, or everything): one workgroup per output row; each thread
//   strides over the row, then a tree reduction in workgroup memory.
// - inner > 1 with many outputs: one thread per output, looping down the axis; neighbouring threads
//   read neighbouring addresses, so the loads coalesce.
// - inner > 1 with few outputs (a weight or bias gradient summed over tokens: [1024, 576] → [576]
//   is 576 threads looping 1024 times, 18 warps for a whole GPU): tiles of 32 columns × 8 row lanes
//   per workgroup, and the axis split into S slices over as many workgroups as fill the GPU; each
//   slice's partial goes to [S, outer, inner] and the one-thread-per-output kernel combines the S.
import { registerKernel } from '../../autograd/kernel.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, FROM_BITS, Meta, grid1d, wgslLiteral, wgslType, memoShader } from '../wgsl.js';
import { type ReduceAttrs, type ReduceOp, reducedShape, reduceLayout } from './contract.js';

const WG = 256;
const COMBINE: Record<ReduceOp, string> = { sum: 'a + b', max: 'max(a, b)', min: 'min(a, b)' };

function identity(op: ReduceOp, T: 'f32' | 'i32'): string {
  if (op === 'sum') return T === 'f32' ? '0.0' : '0i';
  if (T === 'i32') return op === 'max' ? 'i32(-2147483648)' : '2147483647i';
  return wgslLiteral(op === 'max' ? -Infinity : Infinity, 'f32');
}

/** The bindings, element type and combine function every reduction kernel declares. */
function header(op: ReduceOp, T: 'f32' | 'i32'): string {
  return `alias T = ${T};
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
${FROM_BITS}
fn combine(a: T, b: T) -> T { return ${COMBINE[op]}; }`;
}

/** A row kernel's entry: one workgroup per row of params[0] elements, params[1] rows. */
const ROW_MAIN = `@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let row = wg_flat;
  let len = params[0];
  if (row >= params[1]) { return; }`;

function rowKernelSource(op: ReduceOp, T: 'f32' | 'i32'): string {
  return /* wgsl */ `
${header(op, T)}
var<workgroup> partial: array<T, ${WG}>;
${ROW_MAIN}
  var acc = ${identity(op, T)};
  for (var k = lid.x; k < len; k += ${WG}u) { acc = combine(acc, x[row * len + k]); }
  partial[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) { partial[lid.x] = combine(partial[lid.x], partial[lid.x + s]); }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[row] = partial[0]; }
}`;
}

/**
 * argmax along the last axis (contract.ts): one workgroup per row; each thread scans its strided
 * elements in index order, then a tree keeps the winner of each pair under argmaxBeats's order
 * (NaN, tested on the bits, ranks below every number; ties go to the smaller index).
 */
const ARGMAX = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;
${FROM_BITS}
var<workgroup> bv: array<f32, ${WG}>;
var<workgroup> bi: array<u32, ${WG}>;
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn beats(v: f32, i: u32, w: f32, j: u32) -> bool {
  let a = is_nan(v); let b = is_nan(w);
  if (a != b) { return b; }
  if (a) { return i < j; }
  return v > w || (v == w && i < j);
}
${ROW_MAIN}
  // A thread with no element holds a NaN at an index past every real one: it loses to all.
  var best = from_bits(0x7fc00000u);
  var at = 0xffffffffu;
  for (var k = lid.x; k < len; k += ${WG}u) {
    let v = x[row * len + k];
    if (beats(v, k, best, at)) { best = v; at = k; }
  }
  bv[lid.x] = best;
  bi[lid.x] = at;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s && beats(bv[lid.x + s], bi[lid.x + s], bv[lid.x], bi[lid.x])) { bv[lid.x] = bv[lid.x + s]; bi[lid.x] = bi[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[row] = i32(select(bi[0], 0u, len == 0u)); }
}`;

function columnKernelSource(op: ReduceOp, T: 'f32' | 'i32'): string {
  return /* wgsl */ `
${header(op, T)}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  let outer = params[0]; let len = params[1]; let inner = params[2];
  if (i >= outer * inner) { return; }
  let a = i / inner;
  let c = i % inner;
  var acc = ${identity(op, T)};
  for (var k = 0u; k < len; k++) { acc = combine(acc, x[(a * len + k) * inner + c]); }
  out[i] = acc;
}`;
}

/** Columns per tile and row lanes of the split-column kernel. */
const TILE_COLS = 32, ROW_LANES = 8;

/**
 * params: [outer, len, inner, chunk, workgroups]; workgroup (TILE_COLS, ROW_LANES); the flat workgroup index
 * runs over (slice s, outer a, column tile t), t fastest. Slice s covers k in [s·chunk, (s+1)·chunk).
 */
function splitColumnKernelSource(op: ReduceOp, T: 'f32' | 'i32'): string {
  return /* wgsl */ `
${header(op, T)}
var<workgroup> partial: array<array<T, ${TILE_COLS}>, ${ROW_LANES}>;
@compute @workgroup_size(${TILE_COLS}, ${ROW_LANES})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let outer = params[0]; let len = params[1]; let inner = params[2]; let chunk = params[3];
  // grid1d may launch a few workgroups past the last (s, a, t): they have nothing to do.
  if (wg_flat >= params[4]) { return; }
  let tiles = (inner + ${TILE_COLS - 1}u) / ${TILE_COLS}u;
  let t = wg_flat % tiles; let a = (wg_flat / tiles) % outer; let s = wg_flat / tiles / outer;
  let c = t * ${TILE_COLS}u + lid.x;
  var acc = ${identity(op, T)};
  if (c < inner) {
    let k1 = min(len, (s + 1u) * chunk);
    for (var k = s * chunk + lid.y; k < k1; k += ${ROW_LANES}u) { acc = combine(acc, x[(a * len + k) * inner + c]); }
  }
  partial[lid.y][lid.x] = acc;
  workgroupBarrier();
  for (var h = ${ROW_LANES / 2}u; h > 0u; h >>= 1u) {
    if (lid.y < h) { partial[lid.y][lid.x] = combine(partial[lid.y][lid.x], partial[lid.y + h][lid.x]); }
    workgroupBarrier();
  }
  if (lid.y == 0u && c < inner) { out[(s * outer + a) * inner + c] = partial[0][lid.x]; }
}`;
}

/** Outputs below which the one-thread-per-output kernel leaves most of a GPU idle. */
export const SPLIT_COLUMN_MAX_OUTPUTS = 32768;
/** Workgroups the split-column kernel aims for (a few per SM of a large GPU). */
const SPLIT_COLUMN_TARGET_WORKGROUPS = 512;

/** The split-column plan: S slices of `chunk` rows (S = 1: no second pass). */
export function splitColumnPlan(outer: number, len: number, inner: number): { S: number; chunk: number } {
  const tiles = outer * Math.ceil(inner / TILE_COLS);
  // Each slice at least 8 rows per lane, so a workgroup's loop is not all overhead.
  const S = Math.max(1, Math.min(Math.ceil(SPLIT_COLUMN_TARGET_WORKGROUPS / tiles), Math.floor(len / (8 * ROW_LANES))));
  const chunk = Math.ceil(len / S);
  return { S: Math.ceil(len / chunk), chunk };
}

export function registerReduceWebGPU(): void {
  registerKernel('argmax', 'webgpu', (dev, [x]) => {
    const device = dev as WebGPUDevice;
    if (x.dtype !== 'float32') throw new Error(`argmax: float32 on WebGPU, got ${x.dtype}`);
    const len = x.shape.at(-1) ?? 1, rows = x.shape.length === 0 ? 1 : x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const o = device.alloc('int32', rows);
    if (rows > 0) device.dispatch({ name: 'argmax', code: ARGMAX, meta: new Meta().u32(len, rows).build(), inputs: [x.storage], outputs: [o], workgroups: grid1d(rows) });
    return [{ storage: o, shape: x.shape.slice(0, -1), dtype: 'int32' }];
  });
  for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
    registerKernel<ReduceAttrs>(op, 'webgpu', (dev, [x], { axis }) => {
      const device = dev as WebGPUDevice;
      const { outer, len, inner } = reduceLayout(x.shape, axis);
      if (len === 0 && op !== 'sum') throw new Error(`${op} over an empty axis ${axis} of shape [${x.shape}]`);
      const o = device.alloc(x.dtype, outer * inner);
      const T = wgslType(x.dtype);
      if (outer * inner > 0) {
        if (inner === 1) {
          device.dispatch({ name: op, code: rowKernel(op, T), meta: new Meta().u32(len, outer).build(), inputs: [x.storage], outputs: [o], workgroups: grid1d(outer) });
        } else if (outer * inner < SPLIT_COLUMN_MAX_OUTPUTS && len > 1) {
          const { S, chunk } = splitColumnPlan(outer, len, inner);
          const parts = S === 1 ? o : device.alloc(x.dtype, S * outer * inner);
          const count = S * outer * Math.ceil(inner / TILE_COLS);
          device.dispatch({ name: op, code: splitColumnKernel(op, T), meta: new Meta().u32(outer, len, inner, chunk, count).build(), inputs: [x.storage], outputs: [parts], workgroups: grid1d(count) });
          if (S > 1) {
            // [S, outer·inner] → [outer·inner]: the column kernel with the slices as the axis.
            device.dispatch({ name: `${op} slices`, code: columnKernel(op, T), meta: new Meta().u32(1, S, outer * inner).build(), inputs: [parts], outputs: [o], workgroups: grid1d(Math.ceil((outer * inner) / WG)) });
            device.release(parts);
          }
        } else {
          device.dispatch({ name: op, code: columnKernel(op, T), meta: new Meta().u32(outer, len, inner).build(), inputs: [x.storage], outputs: [o], workgroups: grid1d(Math.ceil((outer * inner) / WG)) });
        }
      }
      return [{ storage: o, shape: reducedShape(x.shape, axis), dtype: x.dtype }];
    });
  }
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
const rowKernel = memoShader(rowKernelSource);
const columnKernel = memoShader(columnKernelSource);
const splitColumnKernel = memoShader(splitColumnKernelSource);
