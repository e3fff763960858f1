// KTO (Ethayarajh et al., 2024): each answer is judged alone against a reference point, the
// batch's KL estimate z0 = max(0, mean(πkl − ρkl)) over mismatched (prompt, answer) pairs, taken
// without gradient. Desirable rows: λD·(1 − σ(β(sc − z0))); undesirable rows: λU·(1 − σ(β(z0 − sr)));
// L is one mean over all M + N terms.
import type { PreferenceLoss } from './types.js';
import { nonNegative, positive, requireKl } from './checks.js';
import { logRatios, rewardMetrics, scaled } from './terms.js';
import { add, div, maximum, mean, mul, noGrad, sigmoid, sub, sum } from './ops.js';

export type KtoConfig = { beta: number; desirableWeight: number; undesirableWeight: number };

export const kto: PreferenceLoss<KtoConfig> = {
  name: 'kto',
  description: 'Kahneman-Tversky Optimization: desirable and undesirable answers judged alone, M ≠ N allowed',
  data: { paired: true, unpaired: true },
  needs: { reference: true, promptEmbeddings: false, klEstimate: true, tokenAverage: false },
  defaults: { beta: 0.1, desirableWeight: 1, undesirableWeight: 1 },
  configHelp: { beta: 'β: scale of the rewards (TRL KTOConfig beta)', desirableWeight: 'λD: weight of desirable rows (TRL desirable_weight)', undesirableWeight: 'λU: weight of undesirable rows (TRL undesirable_weight)' },
  validate(c) {
    positive('kto', 'beta', c.beta);
    nonNegative('kto', 'desirableWeight', c.desirableWeight);
    nonNegative('kto', 'undesirableWeight', c.undesirableWeight);
  },
  compute(batch, { beta, desirableWeight, undesirableWeight }) {
    const s = logRatios('kto', batch);
    const klPairs = requireKl('kto', batch);
    const kl = noGrad(() => maximum(mean(sub(klPairs.policyLogps, klPairs.refLogps)), 0));
    const chosenTerms = mul(sub(1, sigmoid(mul(sub(s.chosen, kl), beta))), desirableWeight);
    const rejectedTerms = mul(sub(1, sigmoid(mul(sub(kl, s.rejected), beta))), undesirableWeight);
    const count = s.chosen.shape[0] + s.rejected.shape[0];
    const loss = div(add(sum(chosenTerms), sum(rejectedTerms)), count);
    const metrics = rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta));
    metrics['kl'] = kl;
    return { loss, metrics };
  },
};
