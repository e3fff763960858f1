// Pieces the losses share: log-ratios against the reference, length-normalised log-probs, the
// (label-smoothed) sigmoid loss, and the TRL-named reward metrics.
import type { Tensor } from '../autograd/tensor.js';
import type { LossNeeds, PreferenceBatch } from './types.js';
import { requireReference, requireTokenCounts, type SideName } from './checks.js';
import { div, greater, logSigmoid, mean, mul, neg, noGrad, reshape, sub, tidy } from './ops.js';

/** What a paired loss built on reference log-ratios needs, when it is a mean of one term per pair. */
export const meanOverPairsWithReference: LossNeeds = { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: false, meanOverPairs: true };

/** s = π − ρ for each side (the implicit DPO reward, before β). */
export function logRatios(lossName: string, batch: PreferenceBatch): { chosen: Tensor; rejected: Tensor } {
  const ref = requireReference(lossName, batch);
  return { chosen: sub(batch.chosen.policyLogps, ref.chosen), rejected: sub(batch.rejected.policyLogps, ref.rejected) };
}

/** x / n: a sequence quantity divided by its completion token count. */
export function perToken(lossName: string, batch: PreferenceBatch, side: SideName, x: Tensor): Tensor {
  return div(x, requireTokenCounts(lossName, batch, side));
}

/**
 * −(1−ε)·logσ(z) − ε·logσ(−z): the logistic loss with label smoothing ε (cDPO, Mitchell 2023);
 * ε = 0 is the plain −logσ(z).
 */
export function sigmoidLoss(z: Tensor, labelSmoothing: number): Tensor {
  const hit = neg(logSigmoid(z));
  if (labelSmoothing === 0) return hit;
  return sub(mul(hit, 1 - labelSmoothing), mul(logSigmoid(neg(z)), labelSmoothing));
}

/**
 * TRL's reward metrics from per-row rewards (β·s for DPO-style losses). Paired: accuracy is
 * mean[r_c,i > r_r,i]; unpaired: the fraction of all M×N (chosen, rejected) cells with r_c,i > r_r,j.
 * Computed without gradient, intermediates freed.
 */
export function rewardMetrics(batch: PreferenceBatch, chosenRewards: Tensor, rejectedRewards: Tensor): Record<string, Tensor> {
  return tidy(() => noGrad(() => {
    const rc = chosenRewards, rr = rejectedRewards;
    const cells = batch.paired ? sub(rc, rr) : sub(reshape(rc, [-1, 1]), reshape(rr, [1, -1]));
    const chosen = mean(rc), rejected = mean(rr);
    return {
      'rewards/chosen': chosen,
      'rewards/rejected': rejected,
      'rewards/margins': sub(chosen, rejected),
      'rewards/accuracies': mean(greater(cells, 0)),
      'logps/chosen': mean(batch.chosen.policyLogps),
      'logps/rejected': mean(batch.rejected.policyLogps),
    };
  }));
}

/** Metrics helper for losses that compute a reward per row with β: β·x, no gradient. */
export function scaled(x: Tensor, beta: number): Tensor {
  return noGrad(() => mul(x, beta));
}
