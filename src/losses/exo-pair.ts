// EXO on pairs (Ji et al., 2024, with K = 2 answers): the reverse KL from the model's preference
// q = σ(βΔ) to the ε-smoothed label (1−ε, ε):
// L = q·(log q − log(1−ε)) + q'·(log q' − log ε), q' = σ(−βΔ). log q is taken as logσ, stably.
// With TRL's DPOTrainer options (dpo-options.ts) Δ = f′(sc) − f′(sr), WPO and LD-DPO.
import type { PreferenceLoss } from './types.js';
import { inRange, positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { add, logSigmoid, mul, neg, sigmoid, sub } from './ops.js';

export type ExoPairConfig = { beta: number; labelSmoothing: number } & DpoOptions;

export const exoPair: PreferenceLoss<ExoPairConfig> = {
  name: 'exo_pair',
  description: 'Efficient Exact Optimization on pairs: KL(σ(βΔ) ‖ smoothed label), labelSmoothing ε in (0, 1)',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, labelSmoothing: 1e-3, ...DPO_OPTION_DEFAULTS },
  configHelp: {
    beta: 'β: scale of the margin (TRL beta)',
    labelSmoothing: 'ε: smoothing of the target distribution, in (0, 1) (TRL label_smoothing)',
    ...DPO_OPTION_HELP,
  },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('exo_pair', 'beta', c.beta);
    inRange('exo_pair', 'labelSmoothing', c.labelSmoothing, 0, 1, { lo: true, hi: true });
    validateDpoOptions('exo_pair', c);
  },
  compute(batch, config) {
    const { beta, labelSmoothing: eps } = config;
    const s = logRatios('exo_pair', batch);
    const f = divergenceScores(s, config);
    const z = mul(sub(f.chosen, f.rejected), beta);
    const win = mul(sigmoid(z), sub(logSigmoid(z), Math.log(1 - eps)));
    const lose = mul(sigmoid(neg(z)), sub(logSigmoid(neg(z)), Math.log(eps)));
    const loss = pairMean('exo_pair', batch, add(win, lose), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
