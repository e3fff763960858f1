// APO-zero for unpaired data, TRL's KTOTrainer loss_type 'apo_zero_unpaired' (D'Oosterlinck et al.,
// 2024): every desirable answer's reward pushed up and every undesirable one's down, each alone,
// λD·(1 − σ(β·sc_i)) and λU·σ(β·sr_j), one mean over all M + N terms. With λD = λU = 1 it is also the
// RPO authors' KTOZeroTrainer (KTO with the reference point at 0).
import type { PreferenceLoss } from './types.js';
import { nonNegative, positive } from './checks.js';
import { logRatios, rewardMetrics, scaled } from './terms.js';
import { add, div, mul, sigmoid, sub, sum } from './ops.js';

export type ApoZeroUnpairedConfig = { beta: number; desirableWeight: number; undesirableWeight: number };

export const apoZeroUnpaired: PreferenceLoss<ApoZeroUnpairedConfig> = {
  name: 'apo_zero_unpaired',
  description: 'APO-zero on unpaired data (TRL KTO loss_type apo_zero_unpaired): λD(1 − σ(β·sc)) and λU·σ(β·sr), M ≠ N allowed',
  data: { paired: true, unpaired: true },
  // On paired data the mean over 2M terms is the mean over pairs of (chosen + rejected term)/2.
  needs: { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: false, meanOverPairs: true },
  defaults: { beta: 0.1, desirableWeight: 1, undesirableWeight: 1 },
  configHelp: {
    beta: 'β: scale of the log-ratios inside the sigmoids (TRL KTOConfig beta)',
    desirableWeight: 'λD: weight of desirable rows (TRL desirable_weight)',
    undesirableWeight: 'λU: weight of undesirable rows (TRL undesirable_weight)',
  },
  validate(c) {
    positive('apo_zero_unpaired', 'beta', c.beta);
    nonNegative('apo_zero_unpaired', 'desirableWeight', c.desirableWeight);
    nonNegative('apo_zero_unpaired', 'undesirableWeight', c.undesirableWeight);
  },
  compute(batch, { beta, desirableWeight, undesirableWeight }) {
    const s = logRatios('apo_zero_unpaired', batch);
    const chosenTerms = mul(sub(1, sigmoid(mul(s.chosen, beta))), desirableWeight);
    const rejectedTerms = mul(sigmoid(mul(s.rejected, beta)), undesirableWeight);
    const count = s.chosen.shape[0] + s.rejected.shape[0];
    const loss = div(add(sum(chosenTerms), sum(rejectedTerms)), count);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
