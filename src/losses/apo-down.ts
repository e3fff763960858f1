// APO-down (D'Oosterlinck et al., 2024): for answers better than the model's own, lower the
// chosen reward while widening the margin: L = σ(β·sc) + 1 − σ(βΔ).
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { add, mean, mul, sigmoid, sub } from './ops.js';

export type ApoDownConfig = { beta: number };

export const apoDown: PreferenceLoss<ApoDownConfig> = {
  name: 'apo_down',
  description: 'Anchored Preference Optimization, down anchor: σ(β·sc) + 1 − σ(βΔ)',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1 },
  configHelp: { beta: 'β: scale of the log-ratios inside the sigmoids (TRL beta)' },
  validate(c) {
    positive('apo_down', 'beta', c.beta);
  },
  compute(batch, { beta }) {
    const s = logRatios('apo_down', batch);
    const delta = sub(s.chosen, s.rejected);
    const loss = mean(add(sigmoid(mul(s.chosen, beta)), sub(1, sigmoid(mul(delta, beta)))));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
