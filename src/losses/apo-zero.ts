// APO-zero (D'Oosterlinck et al., 2024): push the chosen reward up and the rejected one
// down, each on its own: L = (1 − σ(β·sc)) + σ(β·sr).
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { add, mean, mul, sigmoid, sub } from './ops.js';

export type ApoZeroConfig = { beta: number };

export const apoZero: PreferenceLoss<ApoZeroConfig> = {
  name: 'apo_zero',
  description: 'Anchored Preference Optimization, zero anchor: (1 − σ(β·sc)) + σ(β·sr)',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1 },
  configHelp: { beta: 'β: scale of the log-ratios inside the sigmoids (TRL beta)' },
  validate(c) {
    positive('apo_zero', 'beta', c.beta);
  },
  compute(batch, { beta }) {
    const s = logRatios('apo_zero', batch);
    const loss = mean(add(sub(1, sigmoid(mul(s.chosen, beta))), sigmoid(mul(s.rejected, beta))));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
