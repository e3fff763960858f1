// SPPO with hard labels (Wu et al., 2024, with P(win) = 1 and 0):
// L = (sc − 1/(2β))² + (sr + 1/(2β))².
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { add, mean, square, sub } from './ops.js';

export type SppoHardConfig = { beta: number };

export const sppoHard: PreferenceLoss<SppoHardConfig> = {
  name: 'sppo_hard',
  description: 'Self-Play Preference Optimization with hard labels: (sc − 0.5/β)² + (sr + 0.5/β)²',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1 },
  configHelp: { beta: 'β: the targets are ±1/(2β) (TRL beta)' },
  validate(c) {
    positive('sppo_hard', 'beta', c.beta);
  },
  compute(batch, { beta }) {
    const s = logRatios('sppo_hard', batch);
    const loss = mean(add(square(sub(s.chosen, 0.5 / beta)), square(add(s.rejected, 0.5 / beta))));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
