// CPU reference for the gather family: plain loops, every index checked (an out-of-range index is
// an error naming the op, the index and the valid range). Sums accumulate in the target's own
// dtype, in index order, so the CPU result is deterministic.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Device } from '../../autograd/device.js';
import { type Shape, sizeOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import {
  type AccumulateAttrs, type AxisAttrs, type GatherLayout, type SortAttrs,
  gatherLayout, indexAddLayout, indexOutOfRange, scatterLayout, selectLayout, sortLayout,
} from './contract.js';

/** Flat offset into x/target of each index position, before the index's own term (see GatherLayout). */
function baseOffsets(layout: GatherLayout): Int32Array {
  const { indexShape, baseStrides } = layout;
  const n = sizeOf(indexShape);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i, off = 0;
    for (let d = indexShape.length - 1; d >= 0; d--) {
      off += (rem % indexShape[d]) * baseStrides[d];
      rem = Math.floor(rem / indexShape[d]);
    }
    out[i] = off;
  }
  return out;
}

function checked(op: string, v: number, len: number, axis: number): number {
  if (v < 0 || v >= len) throw indexOutOfRange(op, v, len, axis);
  return v;
}

/** The starting target: a copy of the given one, or zeros. */
function startTarget(device: Device, inputs: TensorInfo[], shape: Shape, dtype: TensorInfo['dtype']): TensorInfo {
  const o = device.alloc(dtype, sizeOf(shape));
  if (inputs[2]) cpuArray(o).set(cpuArray(inputs[2].storage).subarray(0, sizeOf(shape)));
  return { storage: o, shape: [...shape], dtype };
}

/**
 * Stable ordering with NaN above everything (PyTorch's) and -0 tied with +0. Descending reverses the
 * value order only; ties still keep their original order.
 */
function compareValues(a: number, b: number): number {
  const na = Number.isNaN(a), nb = Number.isNaN(b);
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function registerGatherCpu(): void {
  registerKernel<AxisAttrs>('gather', 'cpu', (device, [x, index], { axis }) => {
    const layout = gatherLayout('gather', x.shape, axis, index.shape, index.dtype);
    const base = baseOffsets(layout);
    const src = cpuArray(x.storage), idx = cpuArray(index.storage);
    const o = device.alloc(x.dtype, base.length);
    const dst = cpuArray(o);
    for (let i = 0; i < base.length; i++) {
      dst[i] = src[base[i] + checked('gather', idx[i], layout.axisLen, layout.axis) * layout.axisStride];
    }
    return [{ storage: o, shape: index.shape, dtype: x.dtype }];
  });

  registerKernel<AccumulateAttrs>('scatterAdd', 'cpu', (device, inputs, { axis, shape }) => {
    const [index, src] = inputs;
    const layout = scatterLayout(shape, axis, index.shape, index.dtype, src.shape);
    const base = baseOffsets(layout);
    const out = startTarget(device, inputs, shape, src.dtype);
    const dst = cpuArray(out.storage), idx = cpuArray(index.storage), s = cpuArray(src.storage);
    for (let i = 0; i < base.length; i++) {
      dst[base[i] + checked('scatterAdd', idx[i], layout.axisLen, layout.axis) * layout.axisStride] += s[i];
    }
    return [out];
  });

  registerKernel<AxisAttrs>('indexSelect', 'cpu', (device, [x, ids], { axis }) => {
    const { axis: a, outer, len, inner, count, outShape } = selectLayout('indexSelect', x.shape, axis, ids.shape, ids.dtype);
    const src = cpuArray(x.storage), idx = cpuArray(ids.storage);
    for (let k = 0; k < count; k++) checked('indexSelect', idx[k], len, a);
    const o = device.alloc(x.dtype, outer * count * inner);
    const dst = cpuArray(o);
    for (let p = 0; p < outer; p++) {
      for (let k = 0; k < count; k++) {
        const from = (p * len + idx[k]) * inner, to = (p * count + k) * inner;
        for (let c = 0; c < inner; c++) dst[to + c] = src[from + c];
      }
    }
    return [{ storage: o, shape: outShape, dtype: x.dtype }];
  });

  registerKernel<AccumulateAttrs>('indexAdd', 'cpu', (device, inputs, { axis, shape }) => {
    const [ids, src] = inputs;
    const { axis: a, outer, len, inner, count } = indexAddLayout(shape, axis, ids.shape, ids.dtype, src.shape);
    const idx = cpuArray(ids.storage), s = cpuArray(src.storage);
    for (let k = 0; k < count; k++) checked('indexAdd', idx[k], len, a);
    const out = startTarget(device, inputs, shape, src.dtype);
    const dst = cpuArray(out.storage);
    for (let p = 0; p < outer; p++) {
      for (let k = 0; k < count; k++) {
        const to = (p * len + idx[k]) * inner, from = (p * count + k) * inner;
        for (let c = 0; c < inner; c++) dst[to + c] += s[from + c];
      }
    }
    return [out];
  });

  registerKernel<SortAttrs>('sort', 'cpu', (device, [x], { axis, descending }) => {
    const { outer, len, inner } = sortLayout(x.shape, axis);
    const src = cpuArray(x.storage);
    const n = outer * len * inner;
    const vo = device.alloc(x.dtype, n);
    const io = device.alloc('int32', n);
    const values = cpuArray(vo), indices = cpuArray(io);
    const order = Array.from({ length: len }, (_, j) => j);
    for (let p = 0; p < outer; p++) {
      for (let c = 0; c < inner; c++) {
        const base = p * len * inner + c;
        const at = (j: number) => src[base + j * inner];
        for (let j = 0; j < len; j++) order[j] = j;
        // Explicit tie-break on position: stable whatever the engine's sort does.
        order.sort((i, j) => (descending ? compareValues(at(j), at(i)) : compareValues(at(i), at(j))) || i - j);
        for (let k = 0; k < len; k++) {
          values[base + k * inner] = at(order[k]);
          indices[base + k * inner] = order[k];
        }
      }
    }
    return [
      { storage: vo, shape: x.shape, dtype: x.dtype },
      { storage: io, shape: x.shape, dtype: 'int32' },
    ];
  });
}
