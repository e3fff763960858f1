// SPPO with hard labels (Wu et al., 2024, with P(win) = 1 and 0):
// L = (sc − 1/(2β))² + (sr + 1/(2β))²; with TRL's DPOTrainer options (dpo-options.ts) the scores
// f′(s) stand for s, and WPO and LD-DPO apply.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { add, square, sub } from './ops.js';

export type SppoHardConfig = { beta: number } & DpoOptions;

export const sppoHard: PreferenceLoss<SppoHardConfig> = {
  name: 'sppo_hard',
  description: 'Self-Play Preference Optimization with hard labels: (sc − 0.5/β)² + (sr + 0.5/β)²',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, ...DPO_OPTION_DEFAULTS },
  configHelp: { beta: 'β: the targets are ±1/(2β) (TRL beta)', ...DPO_OPTION_HELP },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('sppo_hard', 'beta', c.beta);
    validateDpoOptions('sppo_hard', c);
  },
  compute(batch, config) {
    const { beta } = config;
    const s = logRatios('sppo_hard', batch);
    const f = divergenceScores(s, config);
    const loss = pairMean('sppo_hard', batch, add(square(sub(f.chosen, 0.5 / beta)), square(add(f.rejected, 0.5 / beta))), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
