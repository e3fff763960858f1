// The softmax family: softmax and logSoftmax along one axis, logSigmoid elementwise.
//
// Layout: the input is seen as [outer, n, inner] around the softmax axis, and the kernels work in
// that layout directly (no permute to the last axis and back): inner == 1 (the last axis, the
// common case) is one workgroup per row; inner > 1 is one thread per (outer, inner) column
// walking down the axis, so neighbouring threads read neighbouring addresses.
//
// Rows whose max is not finite give NaN in every position: a fully masked row (all −Inf) as in
// PyTorch, and a row holding +Inf (PyTorch's exp(Inf − Inf) gives NaN there too). −Inf entries of
// a row with a finite max give probability 0 (log-probability −Inf): masking works.
import { type DType, bytesPerElement, isFloat } from '../../autograd/dtype.js';
import { type Shape, normalizeAxis, sizeOf } from '../../autograd/shape.js';
import type { KernelCost } from '../cost.js';

export interface SoftmaxAttrs {
  /** Already normalised (0 ≤ axis < rank; 0 for a scalar). */
  axis: number;
}

/** The input seen as [outer, n, inner] around the softmax axis (a scalar is [1, 1, 1]). */
export function softmaxLayout(shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  if (shape.length === 0) return { outer: 1, n: 1, inner: 1 };
  const a = normalizeAxis(axis, shape.length);
  return { outer: sizeOf(shape.slice(0, a)), n: shape[a], inner: sizeOf(shape.slice(a + 1)) };
}

/** Normalises `axis` for x (a scalar accepts 0 and −1, as torch.softmax does). */
export function softmaxAxis(op: string, shape: Shape, axis: number): number {
  if (shape.length === 0) {
    if (axis !== 0 && axis !== -1) throw new Error(`${op}: axis ${axis} is out of range for a scalar (use 0 or -1)`);
    return 0;
  }
  try {
    return normalizeAxis(axis, shape.length);
  } catch {
    throw new Error(`${op}: axis ${axis} is out of range for shape [${shape}]`);
  }
}

export function checkFloat(op: string, dtype: DType): void {
  if (!isFloat(dtype)) throw new Error(`${op}() needs a float tensor, got ${dtype}; cast it first (x.cast('float32'))`);
}

/** What one launch costs, for benchmarks that report GFLOP/s and GB/s. */
/**
 * softmax: per element 1 (max) + 3 (sub, exp, add) + 3 (sub, exp, div) flops.
 * logSoftmax: per element 1 + 3 + 2 (sub, sub), plus one log per row.
 */
export function softmaxCost(shape: Shape, dtype: DType, axis = -1, log = false): KernelCost {
  const size = sizeOf(shape);
  const { n } = softmaxLayout(shape, softmaxAxis('softmaxCost', shape, axis));
  const rows = n === 0 ? 0 : size / n;
  return { flops: size * (log ? 6 : 7) + (log ? rows : 0), bytes: 2 * size * bytesPerElement(dtype) };
}

/** logSigmoid: per element min, abs, neg, exp, log1p (add, sub, log, mul, div), sub = 10 flops. */
export function logSigmoidCost(shape: Shape, dtype: DType): KernelCost {
  const size = sizeOf(shape);
  return { flops: 10 * size, bytes: 2 * size * bytesPerElement(dtype) };
}
