// NCA on pairs (Chen et al., 2024, with K = 2 answers):
// L = −logσ(β·sc) − ½·logσ(−β·sc) − ½·logσ(−β·sr).
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { add, logSigmoid, mean, mul, neg } from './ops.js';

export type NcaPairConfig = { beta: number };

export const ncaPair: PreferenceLoss<NcaPairConfig> = {
  name: 'nca_pair',
  description: 'Noise Contrastive Alignment on pairs: −logσ(β·sc) − ½logσ(−β·sc) − ½logσ(−β·sr)',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1 },
  configHelp: { beta: 'β: scale of the rewards (TRL beta)' },
  validate(c) {
    positive('nca_pair', 'beta', c.beta);
  },
  compute(batch, { beta }) {
    const s = logRatios('nca_pair', batch);
    const zc = mul(s.chosen, beta), zr = mul(s.rejected, beta);
    const terms = add(logSigmoid(zc), mul(add(logSigmoid(neg(zc)), logSigmoid(neg(zr))), 0.5));
    const loss = mean(neg(terms));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
