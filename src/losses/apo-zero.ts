// APO-zero (D'Oosterlinck et al., 2024): push the chosen reward up and the rejected one
// down, each on its own: L = (1 − σ(β·sc)) + σ(β·sr). TRL's DPOTrainer gives this type WPO and
// LD-DPO (dpo-options.ts) but not the f-divergence: it reads the log-ratios themselves.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { pairMean, WPO_DEFAULTS, WPO_HELP, type WpoConfig } from './wpo.js';
import { LD_DPO_DEFAULTS, LD_DPO_HELP, type LdDpoConfig } from './ld-dpo.js';
import { dpoOptionNeeds, validateDpoOptions, withWpoWeights } from './dpo-options.js';
import { add, mul, sigmoid, sub } from './ops.js';

export type ApoZeroConfig = { beta: number } & WpoConfig & LdDpoConfig;

export const apoZero: PreferenceLoss<ApoZeroConfig> = {
  name: 'apo_zero',
  description: 'Anchored Preference Optimization, zero anchor: (1 − σ(β·sc)) + σ(β·sr)',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, ...WPO_DEFAULTS, ...LD_DPO_DEFAULTS },
  configHelp: { beta: 'β: scale of the log-ratios inside the sigmoids (TRL beta)', ...WPO_HELP, ...LD_DPO_HELP },
  validate(c) {
    positive('apo_zero', 'beta', c.beta);
    validateDpoOptions('apo_zero', c);
  },
  compute(batch, config) {
    const { beta } = config;
    const s = logRatios('apo_zero', batch);
    const loss = pairMean('apo_zero', batch, add(sub(1, sigmoid(mul(s.chosen, beta))), sigmoid(mul(s.rejected, beta))), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
