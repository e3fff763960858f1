// NCA on pairs (Chen et al., 2024, with K = 2 answers):
// L = −logσ(β·sc) − ½·logσ(−β·sc) − ½·logσ(−β·sr); with TRL's DPOTrainer options
// (dpo-options.ts) the scores f′(s) stand for s, and WPO and LD-DPO apply.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { add, logSigmoid, mul, neg } from './ops.js';

export type NcaPairConfig = { beta: number } & DpoOptions;

export const ncaPair: PreferenceLoss<NcaPairConfig> = {
  name: 'nca_pair',
  description: 'Noise Contrastive Alignment on pairs: −logσ(β·sc) − ½logσ(−β·sc) − ½logσ(−β·sr)',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, ...DPO_OPTION_DEFAULTS },
  configHelp: { beta: 'β: scale of the rewards (TRL beta)', ...DPO_OPTION_HELP },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('nca_pair', 'beta', c.beta);
    validateDpoOptions('nca_pair', c);
  },
  compute(batch, config) {
    const { beta } = config;
    const s = logRatios('nca_pair', batch);
    const f = divergenceScores(s, config);
    const zc = mul(f.chosen, beta), zr = mul(f.rejected, beta);
    const terms = add(logSigmoid(zc), mul(add(logSigmoid(neg(zc)), logSigmoid(neg(zr))), 0.5));
    const loss = pairMean('nca_pair', batch, neg(terms), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
