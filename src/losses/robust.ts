// Robust DPO (Chowdhury et al., 2024): an unbiased loss under preference-label noise ε,
// L = (−(1−ε)·logσ(βΔ) + ε·logσ(−βΔ)) / (1 − 2ε).
import type { PreferenceLoss } from './types.js';
import { inRange, positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { add, div, logSigmoid, mean, mul, neg, sub } from './ops.js';

export type RobustConfig = { beta: number; labelSmoothing: number };

export const robust: PreferenceLoss<RobustConfig> = {
  name: 'robust',
  description: 'Robust DPO (rDPO): DPO debiased for a label-flip rate labelSmoothing < 0.5',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1, labelSmoothing: 0 },
  configHelp: { beta: 'β: scale of the margin (TRL beta)', labelSmoothing: 'ε: the assumed rate of flipped labels, in [0, 0.5) (TRL label_smoothing)' },
  validate(c) {
    positive('robust', 'beta', c.beta);
    inRange('robust', 'labelSmoothing', c.labelSmoothing, 0, 0.5, { hi: true });
  },
  compute(batch, { beta, labelSmoothing: eps }) {
    const s = logRatios('robust', batch);
    const z = mul(sub(s.chosen, s.rejected), beta);
    const terms = add(mul(logSigmoid(z), -(1 - eps)), mul(logSigmoid(neg(z)), eps));
    const loss = mean(div(terms, 1 - 2 * eps));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
