// Differentiable token log-probs (see contract.ts). The backward is its own kernel rather than a
// composition of ops: written with ops it would need softmax(logits), a second logits-sized
// tensor, which is exactly what this family exists to avoid. (So the gradient is not itself
// differentiable: no second-order gradients through token log-probs.)
import type { Tensor } from '../../autograd/tensor.js';
import { runOp } from '../../autograd/op.js';
import { sum } from '../reduce/op.js';
import { type TokenLogprobsAttrs, type TokenLogprobsOptions, checkSoftcap, logprobsLayout } from './contract.js';

/**
 * log p(targets | logits) per position: out[...] = mask · (logits[..., target] − logsumexp(logits[..., :]))
 * for logits [..., V] (e.g. [B, T, V]), int32 targets [...] and an optional mask [...] (float or
 * int32; 0 marks prompt and padding positions, which give exactly 0 and are never read). Equal to
 * logSoftmax(logits).gather(-1, targets) · mask without the [..., V] log-softmax.
 * Gradient (logits only): dy · mask · (onehot(target) − softmax(logits)), one kernel.
 *
 * `softcap` (Gemma-2's final_logit_softcapping): the log-probs of c = cap·tanh(logits/cap), i.e. of
 * softcap(logits, cap), computed from the raw logits without a capped copy; the gradient carries
 * the factor 1 − tanh²(logits/cap). 0 or absent: no capping.
 */
export function tokenLogprobs(logits: Tensor, targets: Tensor, mask?: Tensor, opts: TokenLogprobsOptions = {}): Tensor {
  const softcap = checkSoftcap('tokenLogprobs', opts.softcap);
  logprobsLayout(logits, targets, mask);
  const masked = mask !== undefined;
  const inputs = masked ? [logits, targets, mask] : [logits, targets];
  const attrs: TokenLogprobsAttrs = softcap ? { masked, softcap } : { masked };
  return runOp<TokenLogprobsAttrs>('tokenLogprobs', inputs, attrs, (dy, { inputs: ins, outputs: [out], attrs }) => [
    runOp<TokenLogprobsAttrs>('tokenLogprobsGrad', [...ins, out, dy], attrs),
    ...ins.slice(1).map(() => null),
  ]);
}

/**
 * Σ_t of tokenLogprobs over the last position axis: logits [B, T, V], targets and mask [B, T] →
 * [B], the log-probability of each sequence's unmasked tokens (the policy/reference log-probs of
 * the preference losses). Divide by Σ mask for the per-token average. `softcap`: as tokenLogprobs's.
 */
export function sequenceLogprobs(logits: Tensor, targets: Tensor, mask: Tensor, opts: TokenLogprobsOptions = {}): Tensor {
  if (logits.rank < 2) throw new Error(`sequenceLogprobs: logits must be [..., T, V], got shape [${logits.shape}]`);
  checkSoftcap('sequenceLogprobs', opts.softcap);
  return sum(tokenLogprobs(logits, targets, mask, opts), -1);
}
