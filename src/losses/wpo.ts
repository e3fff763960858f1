// WPO (Zhou et al., 2024, Eq. 2), as TRL's DPOTrainer applies it with use_weighting: each pair's
// loss times w_c·w_r, the two answers' weights under the policy (PreferenceSide.wpoWeights, computed
// without gradient from the logits by alignedTokenLogprobs).
import type { Tensor } from '../autograd/tensor.js';
import type { PreferenceBatch } from './types.js';
import { requireWpoWeights } from './checks.js';
import { mul } from './ops.js';

/** Per-pair losses weighted by w_c·w_r (paired rows). */
export function wpoWeighted(lossName: string, batch: PreferenceBatch, perPair: Tensor): Tensor {
  const w = requireWpoWeights(lossName, batch);
  return mul(perPair, mul(w.chosen, w.rejected));
}
