// SLiC's hinge loss (Zhao et al., 2023), on DPO's log-ratio margin: L = relu(1 − βΔ); with TRL's
// DPOTrainer options (dpo-options.ts) Δ = f′(sc) − f′(sr), WPO and LD-DPO.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { mul, relu, sub } from './ops.js';

export type HingeConfig = { beta: number } & DpoOptions;

export const hinge: PreferenceLoss<HingeConfig> = {
  name: 'hinge',
  description: 'SLiC hinge loss on the DPO margin: relu(1 − βΔ)',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, ...DPO_OPTION_DEFAULTS },
  configHelp: { beta: 'β: 1/margin of the hinge (TRL beta)', ...DPO_OPTION_HELP },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('hinge', 'beta', c.beta);
    validateDpoOptions('hinge', c);
  },
  compute(batch, config) {
    const { beta } = config;
    const s = logRatios('hinge', batch);
    const f = divergenceScores(s, config);
    const loss = pairMean('hinge', batch, relu(sub(1, mul(sub(f.chosen, f.rejected), beta))), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
