// Token log-probs: the log-probability a language model gives each target token, without a
// [B,T,V] log-softmax in memory.
//
//   tokenLogprobs(logits [..., V], targets [...] int32, mask [...]?) → out [...]
//   out[r] = mask[r] · (logits[r, targets[r]] − logsumexp(logits[r, :]))     where mask[r] ≠ 0
//   out[r] = 0                                                               where mask[r] = 0
//
// Rows are the positions r of the leading shape (B·T of them for [B,T,V] logits). A mask of 0
// (prompt, padding) skips the row: its logits are not read and its target is not checked, so
// padding may hold any id (Hugging Face's −100 included). Nonzero mask values multiply, so a float
// mask can weight positions; the gradient then carries the same factor. The mask is a constant:
// it gets no gradient.
//
// Saved for backward, without a second tensor: the output's storage is 3·rows long and holds
//   [0, rows)        out (what the tensor shows)
//   [rows, 2·rows)   m[r] = max_v logits[r, v]
//   [2·rows, 3·rows) ℓ[r] = log Σ_v exp(logits[r, v] − m[r])      (logsumexp = m + ℓ)
// The two halves of the log-sum-exp are kept apart so that the backward's exp((x − m) − ℓ) is as
// exact as the forward's (x_t − m) − ℓ: adding them into one f32 would round away ~1e-3 at logits
// of 1e4. The statistics live and die with the output tensor, so nothing extra needs disposing.
//
// Backward (d out[r] = dy[r]):
//   dlogits[r, v] = dy[r] · mask[r] · (1[v = targets[r]] − exp(logits[r, v] − m[r] − ℓ[r]))
// written by one kernel straight into the new gradient buffer: forward + backward allocate the
// gradient and O(rows) besides the logits.
//
// Soft-capping (Gemma-2's final_logit_softcapping, attrs.softcap = cap > 0): the kernels read the
// raw logits x and work on c = cap·tanh(x/cap) in registers, never a capped copy:
//   out[r]         = mask[r] · (c[r, t] − logsumexp(c[r, :]))          (m and ℓ are those of c)
//   dlogits[r, v]  = dy[r] · mask[r] · (1[v = t] − exp(c[r, v] − m[r] − ℓ[r])) · (1 − tanh²(x[r, v]/cap))
// 1 − tanh²(u) is evaluated as 4e/(1 + e)², e = exp(−2|u|): no cancellation where tanh → ±1.
// Capped logits are finite for any finite or infinite x (±Inf caps to ±cap), so only NaN rows give
// NaN then.
//
// Rows whose log-sum-exp is not finite (all −Inf, any +Inf or NaN) give NaN, as log_softmax does
// in PyTorch. A target outside [0, V) at an unmasked row is an error on the CPU device; on WebGPU
// (where ids are not read back) it gives NaN in the output and the gradient of that row.
import { type DType, bytesPerElement } from '../../autograd/dtype.js';
import { type Shape, sameShape, sizeOf } from '../../autograd/shape.js';
import type { KernelCost } from '../cost.js';

export interface TokenLogprobsAttrs {
  /** Whether a mask tensor is among the inputs (logits, targets[, mask]). */
  masked: boolean;
  /** cap of the soft-capping c = cap·tanh(x/cap) applied before the softmax; 0 or absent: none. */
  softcap?: number;
}

/** tokenLogprobs's and sequenceLogprobs's options. */
export interface TokenLogprobsOptions {
  /** Soft-cap the logits first, cap·tanh(logits/cap) (Gemma-2's final_logit_softcapping); 0 or absent: none. */
  softcap?: number;
}

/** The softcap option checked: a finite number ≥ 0 (0: none). */
export function checkSoftcap(op: string, softcap: number | undefined): number {
  const cap = softcap ?? 0;
  if (!(Number.isFinite(cap) && cap >= 0)) throw new Error(`${op}: softcap must be a finite number ≥ 0 (0 for none), got ${softcap}`);
  return cap;
}

/** logits seen as [rows, V]; the output has the leading shape. */
export interface LogprobsLayout {
  rows: number;
  vocab: number;
  outShape: number[];
}

export function logprobsLayout(logits: { shape: Shape; dtype: DType }, targets: { shape: Shape; dtype: DType }, mask?: { shape: Shape; dtype: DType }): LogprobsLayout {
  if (logits.dtype === 'int32') throw new Error(`tokenLogprobs: logits must be a float tensor, got int32`);
  if (logits.shape.length < 1) throw new Error('tokenLogprobs: logits must have a vocabulary axis (shape [..., V]), got a scalar');
  if (targets.dtype !== 'int32') throw new Error(`tokenLogprobs: targets must be int32 token ids, got ${targets.dtype}`);
  const outShape = logits.shape.slice(0, -1);
  if (!sameShape(targets.shape, outShape)) {
    throw new Error(`tokenLogprobs: targets of shape [${targets.shape}] must have the logits' leading shape [${outShape}] (logits [${logits.shape}])`);
  }
  if (mask && !sameShape(mask.shape, outShape)) {
    throw new Error(`tokenLogprobs: mask of shape [${mask.shape}] must have the logits' leading shape [${outShape}] (logits [${logits.shape}])`);
  }
  return { rows: sizeOf(outShape), vocab: logits.shape[logits.shape.length - 1], outShape };
}

/** Offsets of the saved statistics in the output's storage (see the file comment). */
export const STATS = { max: 1, logSum: 2, words: 3 } as const;

export function badTarget(row: number, id: number, vocab: number, kernel = 'tokenLogprobs'): Error {
  return new Error(`${kernel}: target id ${id} at row ${row} is out of range for a vocabulary of ${vocab} (valid [0, ${vocab})); mask the position (mask 0) if it is padding`);
}

/** Logits [..., V] as rows × vocab, for the cost models. */
export function logitRows(logitsShape: Shape): { rows: number; vocab: number } {
  const vocab = logitsShape.length ? logitsShape[logitsShape.length - 1] : 1;
  return { rows: vocab === 0 ? sizeOf(logitsShape.slice(0, -1)) : sizeOf(logitsShape) / vocab, vocab };
}

/**
 * Forward: per logit a compare, a subtract, an exp and an add (online max + sum: one exp per
 * element), and with soft-capping a divide, a tanh (counted as one, like exp) and a multiply; per
 * row a log, the gather and two subtractions and the mask multiply. Bytes: logits once, targets and
 * mask once, out and the two statistics written.
 */
export function tokenLogprobsCost(logitsShape: Shape, dtype: DType = 'float32', masked = true, capped = false): KernelCost {
  const { rows, vocab } = logitRows(logitsShape);
  const b = bytesPerElement(dtype);
  return {
    flops: (capped ? 7 : 4) * rows * vocab + 4 * rows,
    bytes: rows * vocab * b + rows * 4 + (masked ? rows * b : 0) + 3 * rows * b,
  };
}

/**
 * Backward: per logit two subtractions, an exp, the one-hot subtract and a multiply; with
 * soft-capping also the capped logit (3) and 1 − tanh² (exp, add, square, divide, multiply: 5).
 * Bytes: logits read, gradient written, and per row target, mask, statistics and dy read.
 */
export function tokenLogprobsGradCost(logitsShape: Shape, dtype: DType = 'float32', masked = true, capped = false): KernelCost {
  const vocab = logitsShape.length ? logitsShape[logitsShape.length - 1] : 1;
  const rows = vocab === 0 ? sizeOf(logitsShape.slice(0, -1)) : sizeOf(logitsShape) / vocab;
  const b = bytesPerElement(dtype);
  return {
    flops: (capped ? 13 : 5) * rows * vocab + rows,
    bytes: 2 * rows * vocab * b + rows * 4 + (masked ? rows * b : 0) + 3 * rows * b,
  };
}
