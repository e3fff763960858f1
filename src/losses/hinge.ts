// SLiC's hinge loss (Zhao et al., 2023), on DPO's log-ratio margin: L = relu(1 − βΔ).
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { mean, mul, relu, sub } from './ops.js';

export type HingeConfig = { beta: number };

export const hinge: PreferenceLoss<HingeConfig> = {
  name: 'hinge',
  description: 'SLiC hinge loss on the DPO margin: relu(1 − βΔ)',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1 },
  configHelp: { beta: 'β: 1/margin of the hinge (TRL beta)' },
  validate(c) {
    positive('hinge', 'beta', c.beta);
  },
  compute(batch, { beta }) {
    const s = logRatios('hinge', batch);
    const loss = mean(relu(sub(1, mul(sub(s.chosen, s.rejected), beta))));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
