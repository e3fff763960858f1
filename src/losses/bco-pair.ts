// BCO on paired data (Jung et al., 2024, without the running reward shift δ):
// L = −logσ(β·sc) − logσ(−β·sr): each answer classified on its own. With TRL's DPOTrainer options
// (dpo-options.ts) the scores f′(s) stand for s, and WPO and LD-DPO apply.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { add, logSigmoid, mul, neg } from './ops.js';

export type BcoPairConfig = { beta: number } & DpoOptions;

export const bcoPair: PreferenceLoss<BcoPairConfig> = {
  name: 'bco_pair',
  description: 'Binary Classifier Optimization on pairs: −logσ(β·sc) − logσ(−β·sr)',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, ...DPO_OPTION_DEFAULTS },
  configHelp: { beta: 'β: scale of the log-ratios (TRL beta)', ...DPO_OPTION_HELP },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('bco_pair', 'beta', c.beta);
    validateDpoOptions('bco_pair', c);
  },
  compute(batch, config) {
    const { beta } = config;
    const s = logRatios('bco_pair', batch);
    const f = divergenceScores(s, config);
    const loss = pairMean('bco_pair', batch, neg(add(logSigmoid(mul(f.chosen, beta)), logSigmoid(mul(f.rejected, -beta)))), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
