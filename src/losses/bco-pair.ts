// BCO on paired data (Jung et al., 2024, without the running reward shift δ):
// L = −logσ(β·sc) − logσ(−β·sr): each answer classified on its own.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { add, logSigmoid, mean, mul, neg } from './ops.js';

export type BcoPairConfig = { beta: number };

export const bcoPair: PreferenceLoss<BcoPairConfig> = {
  name: 'bco_pair',
  description: 'Binary Classifier Optimization on pairs: −logσ(β·sc) − logσ(−β·sr)',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1 },
  configHelp: { beta: 'β: scale of the log-ratios (TRL beta)' },
  validate(c) {
    positive('bco_pair', 'beta', c.beta);
  },
  compute(batch, { beta }) {
    const s = logRatios('bco_pair', batch);
    const loss = mean(neg(add(logSigmoid(mul(s.chosen, beta)), logSigmoid(mul(s.rejected, -beta)))));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
