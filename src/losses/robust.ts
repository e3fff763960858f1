// Robust DPO (Chowdhury et al., 2024): an unbiased loss under preference-label noise ε,
// L = (−(1−ε)·logσ(βΔ) + ε·logσ(−βΔ)) / (1 − 2ε); with TRL's DPOTrainer options (dpo-options.ts)
// Δ = f′(sc) − f′(sr), WPO and LD-DPO.
import type { PreferenceLoss } from './types.js';
import { inRange, positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { add, div, logSigmoid, mul, neg, sub } from './ops.js';

export type RobustConfig = { beta: number; labelSmoothing: number } & DpoOptions;

export const robust: PreferenceLoss<RobustConfig> = {
  name: 'robust',
  description: 'Robust DPO (rDPO): DPO debiased for a label-flip rate labelSmoothing < 0.5',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, labelSmoothing: 0, ...DPO_OPTION_DEFAULTS },
  configHelp: {
    beta: 'β: scale of the margin (TRL beta)',
    labelSmoothing: 'ε: the assumed rate of flipped labels, in [0, 0.5) (TRL label_smoothing)',
    ...DPO_OPTION_HELP,
  },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('robust', 'beta', c.beta);
    inRange('robust', 'labelSmoothing', c.labelSmoothing, 0, 0.5, { hi: true });
    validateDpoOptions('robust', c);
  },
  compute(batch, config) {
    const { beta, labelSmoothing: eps } = config;
    const s = logRatios('robust', batch);
    const f = divergenceScores(s, config);
    const z = mul(sub(f.chosen, f.rejected), beta);
    const terms = add(mul(logSigmoid(z), -(1 - eps)), mul(logSigmoid(neg(z)), eps));
    const loss = pairMean('robust', batch, div(terms, 1 - 2 * eps), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
