// Aligned token log-probs (WPO's weights, Zhou et al., 2024, Eq. 2, as TRL's DPOTrainer computes
// them with use_weighting): the log-probability of each target token less the log of the
// distribution's self-probability Σ_v p(v)², without a [B,T,V] softmax in memory.
//
//   alignedTokenLogprobs(logits [..., V], targets [...] int32, mask [...]?) → out [...]
//   out[r] = mask[r] · (log p(targets[r]) − log Σ_v p(v)²)        where mask[r] ≠ 0
//          = mask[r] · (x_t − m − ℓ₁ − (ℓ₂ − 2ℓ₁))                  p = softmax(x[r, :]), m = max_v x[r, v]
//   out[r] = 0                                                     where mask[r] = 0
// with ℓ₁ = log Σ_v exp(x − m) and ℓ₂ = log Σ_v exp(2(x − m)), so that log Σ p² = ℓ₂ − 2ℓ₁ is TRL's
// logsumexp(2x) − 2·logsumexp(x) with both sums taken at one shared max. One pass per row: each
// logit costs one exp (e, and e² for the second sum).
//
// No gradient: TRL computes the weights under torch.no_grad(), so the op records no graph node and
// its output is a constant. Masked rows are not read (padding may hold any target id). Soft-capping
// (attrs.softcap > 0) reads every logit as cap·tanh(x/cap), as tokenLogprobs does. Rows whose sums
// are not finite give NaN; a target outside [0, V) at an unmasked row is an error on the CPU
// device and NaN on WebGPU.
import { type DType, bytesPerElement } from '../../autograd/dtype.js';
import type { Shape } from '../../autograd/shape.js';
import { logitRows } from '../logprobs/contract.js';
import type { KernelCost } from '../cost.js';

export interface AlignedLogprobsAttrs {
  /** Whether a mask tensor is among the inputs (logits, targets[, mask]). */
  masked: boolean;
  /** cap of the soft-capping applied before the softmax; 0 or absent: none. */
  softcap?: number;
}

/**
 * Per logit a compare, two subtractions, an exp, a square and two adds (and with soft-capping a
 * divide, a tanh and a multiply); per row two logs and the gather. Bytes: logits once, targets and
 * mask once, out written.
 */
export function alignedTokenLogprobsCost(logitsShape: Shape, dtype: DType = 'float32', masked = true, capped = false): KernelCost {
  const { rows, vocab } = logitRows(logitsShape);
  const b = bytesPerElement(dtype);
  return {
    flops: (capped ? 9 : 6) * rows * vocab + 6 * rows,
    bytes: rows * vocab * b + rows * 4 + (masked ? rows * b : 0) + rows * b,
  };
}
