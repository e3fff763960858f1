// CPU reference for elementwise kernels: one loop over the broadcast output shape.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Device } from '../../autograd/device.js';
import { type DType, allocArray } from '../../autograd/dtype.js';
import { type Shape, broadcastShapes, broadcastStrides, sizeOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { BINARY_CPU, UNARY_CPU, type BinaryOp, type CompareOp, type UnaryOp } from './ops-table.js';

/** For each element of `outShape`, the offsets into each input (broadcast strides). */
export function broadcastOffsets(outShape: Shape, inShapes: Shape[]): Int32Array[] {
  const n = sizeOf(outShape);
  const rank = outShape.length;
  const strides = inShapes.map((s) => broadcastStrides(s, outShape));
  const offsets = inShapes.map(() => new Int32Array(n));
  const idx = new Array<number>(rank).fill(0);
  const cur = new Array<number>(inShapes.length).fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < cur.length; k++) offsets[k][i] = cur[k];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < cur.length; k++) cur[k] += strides[k][d];
      if (idx[d] < outShape[d]) break;
      for (let k = 0; k < cur.length; k++) cur[k] -= strides[k][d] * outShape[d];
      idx[d] = 0;
    }
  }
  return offsets;
}

function out(device: Device, dtype: DType, shape: Shape): TensorInfo {
  return { storage: device.alloc(dtype, sizeOf(shape)), shape, dtype };
}

export function registerElementwiseCpu(): void {
  for (const op of Object.keys(UNARY_CPU) as UnaryOp[]) {
    const f = UNARY_CPU[op];
    registerKernel(op, 'cpu', (device, [x]) => {
      const o = out(device, x.dtype, x.shape);
      const src = cpuArray(x.storage);
      const dst = cpuArray(o.storage);
      for (let i = 0; i < dst.length; i++) dst[i] = f(src[i]);
      return [o];
    });
  }
  for (const op of Object.keys(BINARY_CPU) as (BinaryOp | CompareOp)[]) {
    const f = BINARY_CPU[op];
    registerKernel(op, 'cpu', (device, [a, b]) => {
      const shape = broadcastShapes(a.shape, b.shape);
      const o = out(device, a.dtype, shape);
      const [oa, ob] = broadcastOffsets(shape, [a.shape, b.shape]);
      const A = cpuArray(a.storage), B = cpuArray(b.storage), D = cpuArray(o.storage);
      for (let i = 0; i < D.length; i++) D[i] = f(A[oa[i]], B[ob[i]]);
      return [o];
    });
  }
  registerKernel('where', 'cpu', (device, [c, a, b]) => {
    const shape = broadcastShapes(c.shape, broadcastShapes(a.shape, b.shape));
    const o = out(device, a.dtype, shape);
    const [oc, oa, ob] = broadcastOffsets(shape, [c.shape, a.shape, b.shape]);
    const C = cpuArray(c.storage), A = cpuArray(a.storage), B = cpuArray(b.storage), D = cpuArray(o.storage);
    for (let i = 0; i < D.length; i++) D[i] = C[oc[i]] !== 0 ? A[oa[i]] : B[ob[i]];
    return [o];
  });
  registerKernel<{ dtype: DType }>('cast', 'cpu', (device, [x], { dtype }) => {
    const src = cpuArray(x.storage);
    const dst = allocArray(dtype, x.storage.length);
    // float → int truncates toward zero, as PyTorch's .to(torch.int32) does.
    if (dtype === 'int32') for (let i = 0; i < dst.length; i++) dst[i] = Math.trunc(src[i]);
    else dst.set(src);
    return [{ storage: device.upload(dtype, dst), shape: x.shape, dtype }];
  });
}
