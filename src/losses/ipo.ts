// IPO (Azar et al., 2024): L = (h − 1/(2β))², h the log-ratio margin. With tokenAverage
// (the default, as TRL) each side's log-ratio is divided by its token count: h = sc/nc − sr/nr;
// tokenAverage: false gives the paper's sequence-level h = Δ (the RPO paper's Eq. 5). With TRL's
// DPOTrainer options (dpo-options.ts) the scores f′(s) stand for s, and WPO and LD-DPO apply.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, perToken, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { square, sub } from './ops.js';

export type IpoConfig = { beta: number; tokenAverage: boolean } & DpoOptions;

const base = { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: true };

export const ipo: PreferenceLoss<IpoConfig> = {
  name: 'ipo',
  description: 'Identity Preference Optimization: squared distance of the log-ratio margin from 1/(2β)',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(base),
  needsFor: (c) => dpoOptionNeeds({ ...base, tokenAverage: c.tokenAverage }, c),
  defaults: { beta: 0.1, tokenAverage: true, ...DPO_OPTION_DEFAULTS },
  configHelp: {
    beta: 'β: the target margin is 1/(2β) (TRL beta)',
    tokenAverage: 'divide log-probs by token counts, as TRL does (false: the IPO paper\'s sums)',
    ...DPO_OPTION_HELP,
  },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('ipo', 'beta', c.beta);
    validateDpoOptions('ipo', c);
  },
  compute(batch, config) {
    const { beta, tokenAverage } = config;
    const s = logRatios('ipo', batch);
    const f = divergenceScores(s, config);
    const h = tokenAverage
      ? sub(perToken('ipo', batch, 'chosen', f.chosen), perToken('ipo', batch, 'rejected', f.rejected))
      : sub(f.chosen, f.rejected);
    const loss = pairMean('ipo', batch, square(sub(h, 1 / (2 * beta))), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
