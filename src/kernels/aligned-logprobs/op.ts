// Aligned token log-probs (see contract.ts): WPO's per-token term, a constant (no gradient).
import type { Tensor } from '../../autograd/tensor.js';
import { runOp } from '../../autograd/op.js';
import { checkSoftcap, logprobsLayout, type TokenLogprobsOptions } from '../logprobs/contract.js';
import type { AlignedLogprobsAttrs } from './contract.js';

/**
 * mask · (log p(target) − log Σ_v p(v)²) per position, p = softmax(logits[..., :]), for logits
 * [..., V], int32 targets [...] and an optional mask [...] (0 marks positions that give 0 and are
 * never read). Equal to (logSoftmax(x).gather(target) − (logsumexp(2x) − 2·logsumexp(x))) · mask
 * without a [..., V] tensor. The result carries no gradient (WPO's weights are detached in TRL).
 * `softcap`: the logits are read as cap·tanh(x/cap) first (Gemma-2).
 */
export function alignedTokenLogprobs(logits: Tensor, targets: Tensor, mask?: Tensor, opts: TokenLogprobsOptions = {}): Tensor {
  const softcap = checkSoftcap('alignedTokenLogprobs', opts.softcap);
  logprobsLayout(logits, targets, mask);
  const masked = mask !== undefined;
  const attrs: AlignedLogprobsAttrs = softcap ? { masked, softcap } : { masked };
  return runOp<AlignedLogprobsAttrs>('alignedTokenLogprobs', masked ? [logits, targets, mask] : [logits, targets], attrs);
}
