// WGSL kernels of the gather family, one thread per element read or accumulated.
//
// Out-of-range indices: the values live on the device, so they are not read back to be checked
// (that would stall the queue on every call). Instead, on WebGPU an index outside [0, len) — negative
// included — reads 0 in gather/indexSelect and contributes nothing in scatterAdd/indexAdd. The CPU
// reference throws for the same input, so tests run there catch bad indices.
//
// Accumulation (scatterAdd, indexAdd): one thread per src element adds into the target with an
// atomic. WGSL has atomics only on i32/u32, so a float add is a compare-exchange loop on the f32's
// bits held in an atomic<u32>: read the old bits, add in f32, swap in if nobody wrote in between,
// else retry with the bits that won. We chose atomics over a deterministic formulation (one thread per
// target element looping over every index that could hit it) because the main users are gradients of
// embedding lookups (indexSelect over a vocabulary: the deterministic form costs vocab × tokens ×
// width) and of gather along a vocabulary axis; with atomics the cost is one add per src element.
// The price: when several indices hit one target element, the order of its float additions (and so
// the last bits of the sum) varies from run to run. Integer accumulation is exact.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Storage } from '../../autograd/device.js';
import type { DType } from '../../autograd/dtype.js';
import { type Shape, sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, wgslType, memoShader } from '../wgsl.js';
import { launchFill } from '../fill/webgpu.js';
import {
  type AccumulateAttrs, type AxisAttrs, type GatherLayout, type SortAttrs,
  gatherLayout, indexAddLayout, scatterLayout, selectLayout, sortLayout,
} from './contract.js';

const WG = 256;

const HEADER = '@group(0) @binding(0) var<storage, read> params: array<u32>;';

/** `fn add_at(t, v)`: atomic `acc[t] += v` for the output binding `acc` (see the file comment). */
function atomicAdd(T: 'f32' | 'i32', binding: number): string {
  if (T === 'i32') {
    return /* wgsl */ `
@group(0) @binding(${binding}) var<storage, read_write> acc: array<atomic<i32>>;
fn add_at(t: u32, v: i32) { atomicAdd(&acc[t], v); }`;
  }
  return /* wgsl */ `
@group(0) @binding(${binding}) var<storage, read_write> acc: array<atomic<u32>>;
fn add_at(t: u32, v: f32) {
  var old = atomicLoad(&acc[t]);
  loop {
    let r = atomicCompareExchangeWeak(&acc[t], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}`;
}

/**
 * WGSL that sets `off` to the base offset of index position `i` (GatherLayout), unrolled over the
 * rank. meta: [n, axisLen, axisStride, indexShape[rank], baseStrides[rank]].
 */
function baseOffset(rank: number): string {
  const lines: string[] = [];
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`{ let dim = params[${3 + d}]; off += (rem % dim) * params[${3 + rank + d}]; rem = rem / dim; }`);
  }
  return `var rem = i;\n  var off = 0u;\n  ${lines.join('\n  ')}`;
}

function gatherMeta(layout: GatherLayout, n: number): Uint32Array {
  return new Meta().u32(n, layout.axisLen, layout.axisStride, ...layout.indexShape, ...layout.baseStrides).build();
}

function gatherShaderSource(T: string, rank: number): string {
  return /* wgsl */ `
${HEADER}
@group(0) @binding(1) var<storage, read> xs: array<${T}>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> dst: array<${T}>;
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  ${baseOffset(rank)}
  let j = ids[i];
  if (j < 0i || u32(j) >= params[1]) { dst[i] = ${T}(0); return; }
  dst[i] = xs[off + u32(j) * params[2]];
}`;
}

function scatterAddShaderSource(T: 'f32' | 'i32', rank: number): string {
  return /* wgsl */ `
${HEADER}
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<${T}>;
${atomicAdd(T, 3)}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  ${baseOffset(rank)}
  let j = ids[i];
  if (j < 0i || u32(j) >= params[1]) { return; }
  add_at(off + u32(j) * params[2], src[i]);
}`;
}

// meta for indexSelect/indexAdd: [n, count, inner, len]; position i of the selection is
// (p, k, c) in [outer, count, inner], and row k of it is row ids[k] of [outer, len, inner].
const SELECT_POSITION = /* wgsl */ `
  let count = params[1]; let inner = params[2]; let len = params[3];
  let c = i % inner;
  let k = (i / inner) % count;
  let p = i / (inner * count);
  let j = ids[k];
  if (j < 0i || u32(j) >= len) { return; }
  let at = (p * len + u32(j)) * inner + c;`;

function indexSelectShaderSource(T: string): string {
  return /* wgsl */ `
${HEADER}
@group(0) @binding(1) var<storage, read> xs: array<${T}>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> dst: array<${T}>;
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  dst[i] = ${T}(0);
  ${SELECT_POSITION}
  dst[i] = xs[at];
}`;
}

function indexAddShaderSource(T: 'f32' | 'i32'): string {
  return /* wgsl */ `
${HEADER}
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<${T}>;
${atomicAdd(T, 3)}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  ${SELECT_POSITION}
  add_at(at, src[i]);
}`;
}

/**
 * Sort by rank counting: one thread per element counts the elements of its row that come before it
 * (smaller key, or equal key at a smaller position) and writes itself at that rank. Ties keep their
 * order, so the sort is stable, and no two threads write the same slot. Each thread reads its whole
 * row: O(len²) work per row, fine for rows up to a few thousand (the losses sort batch-sized vectors
 * of a few hundred); longer rows would want a bitonic or radix sort.
 *
 * Keys are u32s ordered like the values: for f32, the sign-magnitude bits flipped into two's
 * complement order, with every NaN mapped above +Inf (PyTorch puts NaN last) and -0 folded into +0
 * (they tie, as in PyTorch); for i32, the sign bit flipped. Comparing keys avoids float comparisons,
 * whose NaN behaviour WGSL leaves to the implementation. Descending complements the key, which
 * reverses the value order but not the tie order. meta: [n, len, inner, flip].
 */
function sortShaderSource(T: 'f32' | 'i32'): string {
  const key = T === 'f32'
    ? /* wgsl */ `fn sort_key(v: f32) -> u32 {
  var b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0xffffffffu; }
  if (b == 0x80000000u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}`
    : 'fn sort_key(v: i32) -> u32 { return bitcast<u32>(v) ^ 0x80000000u; }';
  return /* wgsl */ `
${HEADER}
@group(0) @binding(1) var<storage, read> xs: array<${T}>;
@group(0) @binding(2) var<storage, read_write> vals: array<${T}>;
@group(0) @binding(3) var<storage, read_write> inds: array<i32>;
${key}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  let len = params[1]; let inner = params[2]; let flip = params[3];
  let c = i % inner;
  let k = (i / inner) % len;
  let base = (i / (inner * len)) * len * inner + c;
  let v = xs[base + k * inner];
  let kv = sort_key(v) ^ flip;
  var rank = 0u;
  for (var j = 0u; j < k; j++) { rank += select(0u, 1u, (sort_key(xs[base + j * inner]) ^ flip) <= kv); }
  for (var j = k + 1u; j < len; j++) { rank += select(0u, 1u, (sort_key(xs[base + j * inner]) ^ flip) < kv); }
  vals[base + rank * inner] = v;
  inds[base + rank * inner] = i32(k);
}`;
}

/** The starting target of an accumulation: a copy of the given one, or zeros. */
function startTarget(device: WebGPUDevice, inputs: TensorInfo[], shape: Shape, dtype: DType): Storage {
  const n = sizeOf(shape);
  if (!inputs[2]) return launchFill(device, dtype, n, 0);
  const o = device.alloc(dtype, n);
  device.copy(inputs[2].storage, 0, o, 0, n * 4);
  return o;
}

function launch(device: WebGPUDevice, name: string, code: string, meta: Uint32Array, inputs: Storage[], outputs: Storage[], n: number): void {
  device.dispatch({ name, code, meta, inputs, outputs, workgroups: grid1d(Math.ceil(n / WG)) });
}

export function registerGatherWebGPU(): void {
  registerKernel<AxisAttrs>('gather', 'webgpu', (dev, [x, index], { axis }) => {
    const device = dev as WebGPUDevice;
    const layout = gatherLayout('gather', x.shape, axis, index.shape, index.dtype);
    const n = sizeOf(index.shape);
    const o = device.alloc(x.dtype, n);
    launch(device, 'gather', gatherShader(wgslType(x.dtype), layout.indexShape.length), gatherMeta(layout, n), [x.storage, index.storage], [o], n);
    return [{ storage: o, shape: index.shape, dtype: x.dtype }];
  });

  registerKernel<AccumulateAttrs>('scatterAdd', 'webgpu', (dev, inputs, { axis, shape }) => {
    const device = dev as WebGPUDevice;
    const [index, src] = inputs;
    const layout = scatterLayout(shape, axis, index.shape, index.dtype, src.shape);
    const o = startTarget(device, inputs, shape, src.dtype);
    const n = sizeOf(index.shape);
    launch(device, 'scatterAdd', scatterAddShader(wgslType(src.dtype), layout.indexShape.length), gatherMeta(layout, n), [index.storage, src.storage], [o], n);
    return [{ storage: o, shape: [...shape], dtype: src.dtype }];
  });

  registerKernel<AxisAttrs>('indexSelect', 'webgpu', (dev, [x, ids], { axis }) => {
    const device = dev as WebGPUDevice;
    const { outer, len, inner, count, outShape } = selectLayout('indexSelect', x.shape, axis, ids.shape, ids.dtype);
    const n = outer * count * inner;
    const o = device.alloc(x.dtype, n);
    launch(device, 'indexSelect', indexSelectShader(wgslType(x.dtype)), new Meta().u32(n, count, inner, len).build(), [x.storage, ids.storage], [o], n);
    return [{ storage: o, shape: outShape, dtype: x.dtype }];
  });

  registerKernel<AccumulateAttrs>('indexAdd', 'webgpu', (dev, inputs, { axis, shape }) => {
    const device = dev as WebGPUDevice;
    const [ids, src] = inputs;
    const { outer, len, inner, count } = indexAddLayout(shape, axis, ids.shape, ids.dtype, src.shape);
    const o = startTarget(device, inputs, shape, src.dtype);
    const n = outer * count * inner;
    launch(device, 'indexAdd', indexAddShader(wgslType(src.dtype)), new Meta().u32(n, count, inner, len).build(), [ids.storage, src.storage], [o], n);
    return [{ storage: o, shape: [...shape], dtype: src.dtype }];
  });

  registerKernel<SortAttrs>('sort', 'webgpu', (dev, [x], { axis, descending }) => {
    const device = dev as WebGPUDevice;
    const { outer, len, inner } = sortLayout(x.shape, axis);
    const n = outer * len * inner;
    const vo = device.alloc(x.dtype, n);
    const io = device.alloc('int32', n);
    const meta = new Meta().u32(n, len, inner, descending ? 0xffffffff : 0).build();
    launch(device, 'sort', sortShader(wgslType(x.dtype)), meta, [x.storage], [vo, io], n);
    return [
      { storage: vo, shape: x.shape, dtype: x.dtype },
      { storage: io, shape: x.shape, dtype: 'int32' },
    ];
  });
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
const gatherShader = memoShader(gatherShaderSource);
const scatterAddShader = memoShader(scatterAddShaderSource);
const indexSelectShader = memoShader(indexSelectShaderSource);
const indexAddShader = memoShader(indexAddShaderSource);
const sortShader = memoShader(sortShaderSource);
