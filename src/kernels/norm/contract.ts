// The norm family: RMSNorm and LayerNorm over the last axis, with a learned weight (and bias).
//
//   rmsNorm(x, w, eps)      y = w ⊙ (x · rsqrt(mean(x²) + eps))             (HF LlamaRMSNorm)
//   with offset c:          y = (w + c) ⊙ (x · rsqrt(mean(x²) + eps))       (Gemma: c = 1)
//   layerNorm(x, w, b, eps) y = (x − mean(x)) · rsqrt(var(x) + eps) ⊙ w + b  (torch LayerNorm,
//                                                                            biased variance)
//
// x is any float tensor of rank ≥ 1; w (and b) have shape [n], n = x's last dimension; every row
// (the leading dimensions flattened) is normalised on its own. Hugging Face computes RMSNorm in
// float32 whatever the model dtype and multiplies by the weight after normalising; we have no
// half types, so float32 in, float32 out, weight multiply last, as there.
//
// Backward kernels ('rmsNormBackward', 'layerNormBackward') take [x, w, dy] and recompute the row
// statistics (one more row reduction, fused with the ones the gradient needs) instead of saving
// them from the forward, so nothing but x has to outlive the forward pass. They return dx and,
// when the weight needs a gradient, partial sums of the terms dy ⊙ x̂ (x̂ the normalised input):
// [P, n], row p the sum over rows p·R .. p·R + R − 1 (normPartials), which op.ts sums over P with
// the reduce family (the bias gradient is the row sum of dy itself). With R = 1 this was a
// full-size temporary, as large as the activations; P ≤ 1024 bounds it whatever the batch.
//
// The RMSNorm kernels' `offset` is added where they read the weight, rounded to x's dtype as the
// add kernel stores w + c, so one launch gives add(w, c) → rmsNorm bit for bit; the backward's dx
// uses w + c, and its weight terms are unchanged (d(w + c)/dw = 1).
import { type DType, bytesPerElement, isFloat } from '../../autograd/dtype.js';
import { type Shape, sizeOf } from '../../autograd/shape.js';
import type { KernelCost } from '../cost.js';

export interface NormAttrs {
  eps: number;
}

/** The RMSNorm kernels' attributes: the weight multiplies as w + offset (0: plain RMSNorm). */
export interface RmsNormAttrs extends NormAttrs {
  offset: number;
}

export interface NormBackwardAttrs {
  eps: number;
  /** rmsNormBackward: the forward's offset (layerNormBackward has none: 0). */
  offset?: number;
  /** Also return the weight-gradient terms dy ⊙ x̂, summed over blocks of rows (normPartials). */
  weightGrad: boolean;
}

/** At most this many partial rows of weight-gradient terms, whatever the number of rows. */
export const MAX_NORM_PARTIALS = 1024;

/** Rows per partial (R) and partial rows (P) for a backward launch over `rows` rows. */
export function normPartials(rows: number): { R: number; P: number } {
  const R = Math.max(1, Math.ceil(rows / MAX_NORM_PARTIALS));
  return { R, P: Math.ceil(rows / R) };
}

/** x seen as [rows, n] over its last axis. */
export function normLayout(shape: Shape): { rows: number; n: number } {
  const n = shape[shape.length - 1];
  return { rows: n === 0 ? 0 : sizeOf(shape) / n, n };
}

/** addRmsNorm's inputs: x and the residual of one shape and dtype, the weight as rmsNorm's. */
export function checkAddNormInputs(x: { shape: Shape; dtype: DType }, residual: { shape: Shape; dtype: DType }, weight: { shape: Shape; dtype: DType }): void {
  checkNormInputs('addRmsNorm', x, [['weight', weight]]);
  if (residual.shape.length !== x.shape.length || residual.shape.some((d, i) => d !== x.shape[i]) || residual.dtype !== x.dtype) {
    throw new Error(`addRmsNorm(): the residual must be ${x.dtype} [${x.shape}] as x is (no broadcasting), got ${residual.dtype} [${residual.shape}]`);
  }
}

/** Shapes and dtypes, checked once for both devices. */
export function checkNormInputs(op: string, x: { shape: Shape; dtype: DType }, params: [string, { shape: Shape; dtype: DType }][]): void {
  if (!isFloat(x.dtype)) throw new Error(`${op}() needs a float tensor, got ${x.dtype}; cast it first (x.cast('float32'))`);
  if (x.shape.length === 0) throw new Error(`${op}(): x must have at least one axis (normalised over the last), got a scalar`);
  const n = x.shape[x.shape.length - 1];
  for (const [name, p] of params) {
    if (p.shape.length !== 1 || p.shape[0] !== n) {
      throw new Error(`${op}(): ${name} must have shape [${n}] (x's last dimension, x is [${x.shape}]), got [${p.shape}]`);
    }
    if (p.dtype !== x.dtype) throw new Error(`${op}(): ${name} is ${p.dtype} but x is ${x.dtype}; cast one of them`);
  }
}

/** The backward kernels' dy: x's shape and dtype. */
export function checkGradInput(op: string, x: { shape: Shape; dtype: DType }, dy: { shape: Shape; dtype: DType }): void {
  if (dy.shape.length !== x.shape.length || dy.shape.some((d, i) => d !== x.shape[i]) || dy.dtype !== x.dtype) {
    throw new Error(`${op}: dy (${dy.dtype} [${dy.shape}]) must match x (${x.dtype} [${x.shape}])`);
  }
}

export function checkEps(op: string, eps: number): void {
  if (!Number.isFinite(eps) || eps < 0) throw new Error(`${op}(): eps must be a finite number ≥ 0, got ${eps}`);
}

export function checkOffset(op: string, offset: number): void {
  if (!Number.isFinite(offset)) throw new Error(`${op}(): offset must be a finite number, got ${offset}`);
}

/**
 * rmsNorm forward: per element square + add (Σx²), multiply by the row's rsqrt, multiply by w = 4;
 * per row mean, + eps, rsqrt = 3. Bytes: x read, y written, w read once.
 */
export function rmsNormCost(shape: Shape, dtype: DType): KernelCost {
  const size = sizeOf(shape);
  const { rows, n } = normLayout(shape);
  return { flops: 4 * size + 3 * rows, bytes: (2 * size + n) * bytesPerElement(dtype) };
}

/**
 * layerNorm forward: per element add (mean), sub + square + add (variance), sub, mul by rsqrt,
 * mul by w, add b = 8; per row two divisions by n, + eps, rsqrt = 4. Bytes: x, y, w and b.
 */
export function layerNormCost(shape: Shape, dtype: DType): KernelCost {
  const size = sizeOf(shape);
  const { rows, n } = normLayout(shape);
  return { flops: 8 * size + 4 * rows, bytes: (2 * size + 2 * n) * bytesPerElement(dtype) };
}

/**
 * rmsNormBackward: per element x², g = w·dy, g·x and two adds (5); x̂, x̂·m, g − x̂·m, ·r (4);
 * dy·x̂ and its add into the partial (2) when the weight needs a gradient. Bytes: x, dy, w read;
 * dx (and the P·n partials) written. The sum over the partials (reduce family) is not included.
 */
export function rmsNormBackwardCost(shape: Shape, dtype: DType, weightGrad = true): KernelCost {
  const size = sizeOf(shape);
  const { rows, n } = normLayout(shape);
  const partials = weightGrad ? normPartials(rows).P * n : 0;
  return { flops: (weightGrad ? 11 : 9) * size + 4 * rows, bytes: (3 * size + n + partials) * bytesPerElement(dtype) };
}

/**
 * layerNormBackward: mean (1), then x − μ, its square, g = w·dy, g·(x − μ) and three adds (7);
 * x̂, x̂·m₂, two subtractions, ·r (5); dy·x̂ and its add (2) with the weight gradient.
 */
export function layerNormBackwardCost(shape: Shape, dtype: DType, weightGrad = true): KernelCost {
  const size = sizeOf(shape);
  const { rows, n } = normLayout(shape);
  const partials = weightGrad ? normPartials(rows).P * n : 0;
  return { flops: (weightGrad ? 15 : 13) * size + 6 * rows, bytes: (3 * size + n + partials) * bytesPerElement(dtype) };
}
