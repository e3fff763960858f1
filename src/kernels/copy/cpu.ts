// CPU reference for strided copies.
import { registerKernel } from '../../autograd/kernel.js';
import type { TypedArray } from '../../autograd/dtype.js';
import { type Shape, normalizeAxis, sizeOf, stridesOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import type { ConcatAttrs, PadRegionAttrs, StridedAttrs } from './contract.js';

/** dst[dstOff + Σ i·dstStrides] = src[srcOff + Σ i·srcStrides] for every index i of shape. */
export function copyRegionCpu(src: TypedArray, srcOff: number, srcStrides: number[], dst: TypedArray, dstOff: number, dstStrides: number[], shape: Shape): void {
  const n = sizeOf(shape);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let s = srcOff, d = dstOff;
  for (let i = 0; i < n; i++) {
    dst[d] = src[s];
    for (let k = rank - 1; k >= 0; k--) {
      idx[k]++;
      s += srcStrides[k];
      d += dstStrides[k];
      if (idx[k] < shape[k]) break;
      s -= srcStrides[k] * shape[k];
      d -= dstStrides[k] * shape[k];
      idx[k] = 0;
    }
  }
}

export function registerCopyCpu(): void {
  registerKernel<StridedAttrs>('strided', 'cpu', (device, [x], { shape, offset, strides }) => {
    const o = device.alloc(x.dtype, sizeOf(shape));
    copyRegionCpu(cpuArray(x.storage), offset, strides, cpuArray(o), 0, stridesOf(shape), shape);
    return [{ storage: o, shape, dtype: x.dtype }];
  });
  registerKernel<PadRegionAttrs>('padRegion', 'cpu', (device, [x], { outShape, offset, strides }) => {
    const o = device.alloc(x.dtype, sizeOf(outShape));
    copyRegionCpu(cpuArray(x.storage), 0, stridesOf(x.shape), cpuArray(o), offset, strides, x.shape);
    return [{ storage: o, shape: outShape, dtype: x.dtype }];
  });
  registerKernel<ConcatAttrs>('concat', 'cpu', (device, xs, { axis }) => {
    const { shape, parts } = concatLayout(xs.map((x) => x.shape), axis);
    const o = device.alloc(xs[0].dtype, sizeOf(shape));
    xs.forEach((x, k) => copyRegionCpu(cpuArray(x.storage), 0, stridesOf(x.shape), cpuArray(o), parts[k].offset, parts[k].strides, x.shape));
    return [{ storage: o, shape, dtype: xs[0].dtype }];
  });
}

/** Output shape of a concat, and where each input lands in it (offset and strides). */
export function concatLayout(shapes: Shape[], axis: number): { shape: number[]; parts: { offset: number; strides: number[] }[] } {
  const rank = shapes[0].length;
  const a = normalizeAxis(axis, rank);
  for (const s of shapes) {
    if (s.length !== rank || s.some((d, i) => i !== a && d !== shapes[0][i])) {
      throw new Error(`concat along axis ${axis}: shapes [${shapes.map((x) => `[${x}]`).join(', ')}] differ off that axis`);
    }
  }
  const shape = shapes[0].map((d, i) => (i === a ? shapes.reduce((t, s) => t + s[a], 0) : d));
  const strides = stridesOf(shape);
  let at = 0;
  const parts = shapes.map((s) => {
    const p = { offset: at * strides[a], strides };
    at += s[a];
    return p;
  });
  return { shape, parts };
}
