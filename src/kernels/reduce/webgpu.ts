// WGSL reductions along one axis of [outer, len, inner].
// - inner == 1 (reducing the last axis, or everything): one workgroup per output row; each thread
//   strides over the row, then a tree reduction in workgroup memory.
// - inner > 1: one thread per output, looping down the axis; neighbouring threads read neighbouring
//   addresses, so the loads coalesce.
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

function rowKernelSource(op: ReduceOp, T: 'f32' | 'i32'): string {
  return /* wgsl */ `
alias T = ${T};
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
${FROM_BITS}
var<workgroup> partial: array<T, ${WG}>;
fn combine(a: T, b: T) -> T { return ${COMBINE[op]}; }
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let row = wg_flat;
  let len = params[0];
  if (row >= params[1]) { return; }
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

function columnKernelSource(op: ReduceOp, T: 'f32' | 'i32'): string {
  return /* wgsl */ `
alias T = ${T};
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
${FROM_BITS}
fn combine(a: T, b: T) -> T { return ${COMBINE[op]}; }
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

export function registerReduceWebGPU(): void {
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
