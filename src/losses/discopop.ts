// DiscoPOP's log-ratio modulated loss (Chris Lu et al., 2024): a σ-gated blend of DPO's
// logistic loss and an exponential loss, m = σ(βΔ/τd):
// L = (1 − m)·(−logσ(βΔ)) + m·exp(−βΔ).
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { add, div, exp, logSigmoid, mean, mul, neg, sigmoid, sub } from './ops.js';

export type DiscopopConfig = { beta: number; discopopTau: number };

export const discopop: PreferenceLoss<DiscopopConfig> = {
  name: 'discopop',
  description: 'DiscoPOP: logistic and exponential losses blended by σ(βΔ/discopopTau)',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1, discopopTau: 0.05 },
  configHelp: { beta: 'β: scale of the margin (TRL beta)', discopopTau: 'τ: temperature of the log-ratio modulation (TRL discopop_tau)' },
  validate(c) {
    positive('discopop', 'beta', c.beta);
    positive('discopop', 'discopopTau', c.discopopTau);
  },
  compute(batch, { beta, discopopTau }) {
    const s = logRatios('discopop', batch);
    const z = mul(sub(s.chosen, s.rejected), beta);
    const m = sigmoid(div(z, discopopTau));
    const loss = mean(add(mul(sub(1, m), neg(logSigmoid(z))), mul(m, exp(neg(z)))));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
