// WPO (Zhou et al., 2024, Eq. 2), as TRL's DPOTrainer applies use_weighting to every loss type but
// the sorting ones (aot, aot_unpaired): each pair's loss times w_c·w_r, the two answers' weights
// under the policy (PreferenceSide.wpoWeights, computed without gradient from the logits by
// alignedTokenLogprobs). A loss offering the option spreads its defaults and help, declares
// wpoNeeds and takes its mean over pairs with pairMean.
import type { Tensor } from '../autograd/tensor.js';
import type { LossNeeds, PreferenceBatch } from './types.js';
import { requireWpoWeights } from './checks.js';
import { mean, mul } from './ops.js';

export type WpoConfig = { useWeighting: boolean };

export const WPO_DEFAULTS: WpoConfig = { useWeighting: false };
export const WPO_HELP = { useWeighting: "WPO: weight each pair's loss by its answers' probabilities under the policy (TRL use_weighting)" };

/** WPO's weights, only while the option is on. */
export function wpoNeeds({ useWeighting }: Partial<WpoConfig>): Partial<LossNeeds> {
  return useWeighting ? { wpoWeights: true } : {};
}

/** Per-pair losses weighted by w_c·w_r (paired rows). */
export function wpoWeighted(lossName: string, batch: PreferenceBatch, perPair: Tensor): Tensor {
  const w = requireWpoWeights(lossName, batch);
  return mul(perPair, mul(w.chosen, w.rejected));
}

/** The mean over pairs of the per-pair losses, WPO-weighted when the config asks. */
export function pairMean(lossName: string, batch: PreferenceBatch, perPair: Tensor, { useWeighting }: WpoConfig): Tensor {
  return mean(useWeighting ? wpoWeighted(lossName, batch, perPair) : perPair);
}
