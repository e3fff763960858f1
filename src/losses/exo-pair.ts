// EXO on pairs (Ji et al., 2024, with K = 2 answers): the reverse KL from the model's preference
// q = σ(βΔ) to the ε-smoothed label (1−ε, ε):
// L = q·(log q − log(1−ε)) + q'·(log q' − log ε), q' = σ(−βΔ). log q is taken as logσ, stably.
import type { PreferenceLoss } from './types.js';
import { inRange, positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { add, logSigmoid, mean, mul, neg, sigmoid, sub } from './ops.js';

export type ExoPairConfig = { beta: number; labelSmoothing: number };

export const exoPair: PreferenceLoss<ExoPairConfig> = {
  name: 'exo_pair',
  description: 'Efficient Exact Optimization on pairs: KL(σ(βΔ) ‖ smoothed label), labelSmoothing ε in (0, 1)',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1, labelSmoothing: 1e-3 },
  configHelp: { beta: 'β: scale of the margin (TRL beta)', labelSmoothing: 'ε: smoothing of the target distribution, in (0, 1) (TRL label_smoothing)' },
  validate(c) {
    positive('exo_pair', 'beta', c.beta);
    inRange('exo_pair', 'labelSmoothing', c.labelSmoothing, 0, 1, { lo: true, hi: true });
  },
  compute(batch, { beta, labelSmoothing: eps }) {
    const s = logRatios('exo_pair', batch);
    const z = mul(sub(s.chosen, s.rejected), beta);
    const win = mul(sigmoid(z), sub(logSigmoid(z), Math.log(1 - eps)));
    const lose = mul(sigmoid(neg(z)), sub(logSigmoid(neg(z)), Math.log(eps)));
    const loss = mean(add(win, lose));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
