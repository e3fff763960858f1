// Length-normalised DPO (Tülu 3, Lambert et al., 2024; TRL's 'sigmoid_norm'):
// L = −logσ(β·(sc/nc − sr/nr)); with TRL's DPOTrainer options (dpo-options.ts) the scores f′(s)
// stand for s (divided by the counts as TRL does), and WPO and LD-DPO apply.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, perToken, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { logSigmoid, mul, neg, sub } from './ops.js';

export type SigmoidNormConfig = { beta: number } & DpoOptions;

const base = { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: true };

export const sigmoidNorm: PreferenceLoss<SigmoidNormConfig> = {
  name: 'sigmoid_norm',
  description: 'DPO on per-token log-ratios: −logσ(β(sc/nc − sr/nr))',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(base),
  needsFor: (c) => dpoOptionNeeds(base, c),
  defaults: { beta: 0.1, ...DPO_OPTION_DEFAULTS },
  configHelp: { beta: 'β: scale of the length-normalised margin (TRL beta)', ...DPO_OPTION_HELP },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('sigmoid_norm', 'beta', c.beta);
    validateDpoOptions('sigmoid_norm', c);
  },
  compute(batch, config) {
    const { beta } = config;
    const s = logRatios('sigmoid_norm', batch);
    const f = divergenceScores(s, config);
    const h = sub(perToken('sigmoid_norm', batch, 'chosen', f.chosen), perToken('sigmoid_norm', batch, 'rejected', f.rejected));
    const loss = pairMean('sigmoid_norm', batch, neg(logSigmoid(mul(h, beta))), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
