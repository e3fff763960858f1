// KTO (Ethayarajh et al., 2024): each answer is judged alone against a reference point z0.
// referencePoint 'kl' (default, TRL's and the RPO authors' KTOTrainer): the batch's KL estimate
// z0 = max(0, mean(πkl − ρkl)) over mismatched (prompt, answer) pairs, taken without gradient.
// Desirable rows: λD·(1 − σ(β(sc − z0))); undesirable rows: λU·(1 − σ(β(z0 − sr))).
// referencePoint 'opposite_side' (the RPO authors' SimpleKTOTrainer, "kto-simple"): desirable rows
// against max(0, mean(sr)), undesirable rows against max(0, mean(sc)), both with gradient.
// L is one mean over all M + N terms.
import type { PreferenceLoss } from './types.js';
import type { Tensor } from '../autograd/tensor.js';
import { nonNegative, positive, requireKl } from './checks.js';
import { logRatios, rewardMetrics, scaled } from './terms.js';
import { add, div, maximum, mean, mul, noGrad, sigmoid, sub, sum } from './ops.js';

export type KtoReferencePoint = 'kl' | 'opposite_side';
export type KtoConfig = { beta: number; desirableWeight: number; undesirableWeight: number; referencePoint: KtoReferencePoint };

export const kto: PreferenceLoss<KtoConfig> = {
  name: 'kto',
  description: 'Kahneman-Tversky Optimization: desirable and undesirable answers judged alone, M ≠ N allowed',
  data: { paired: true, unpaired: true },
  needs: { reference: true, promptEmbeddings: false, klEstimate: true, tokenAverage: false },
  needsFor: (c) => ({ ...kto.needs, klEstimate: c.referencePoint === 'kl' }),
  defaults: { beta: 0.1, desirableWeight: 1, undesirableWeight: 1, referencePoint: 'kl' },
  configHelp: {
    beta: 'β: scale of the rewards (TRL KTOConfig beta)',
    desirableWeight: 'λD: weight of desirable rows (TRL desirable_weight)',
    undesirableWeight: 'λU: weight of undesirable rows (TRL undesirable_weight)',
    referencePoint: 'kl: the KL estimate over mismatched pairs (TRL, the RPO authors\' KTOTrainer); opposite_side: the other side\'s mean log-ratio (the authors\' SimpleKTOTrainer)',
  },
  choices: { referencePoint: ['kl', 'opposite_side'] },
  validate(c) {
    positive('kto', 'beta', c.beta);
    nonNegative('kto', 'desirableWeight', c.desirableWeight);
    nonNegative('kto', 'undesirableWeight', c.undesirableWeight);
  },
  compute(batch, { beta, desirableWeight, undesirableWeight, referencePoint }) {
    const s = logRatios('kto', batch);
    let chosenPoint: Tensor, rejectedPoint: Tensor, kl: Tensor | undefined;
    if (referencePoint === 'kl') {
      const klPairs = requireKl('kto', batch);
      kl = noGrad(() => maximum(mean(sub(klPairs.policyLogps, klPairs.refLogps)), 0));
      chosenPoint = rejectedPoint = kl;
    } else {
      chosenPoint = maximum(mean(s.rejected), 0);
      rejectedPoint = maximum(mean(s.chosen), 0);
    }
    const chosenTerms = mul(sub(1, sigmoid(mul(sub(s.chosen, chosenPoint), beta))), desirableWeight);
    const rejectedTerms = mul(sub(1, sigmoid(mul(sub(rejectedPoint, s.rejected), beta))), undesirableWeight);
    const count = s.chosen.shape[0] + s.rejected.shape[0];
    const loss = div(add(sum(chosenTerms), sum(rejectedTerms)), count);
    const metrics = rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta));
    if (kl) metrics['kl'] = kl;
    return { loss, metrics };
  },
};
