// APO-down (D'Oosterlinck et al., 2024): for answers better than the model's own, lower the
// chosen reward while widening the margin: L = σ(β·sc) + 1 − σ(βΔ). With TRL's DPOTrainer options
// (dpo-options.ts): the f-divergence reaches the margin term only, Δ = f′(sc) − f′(sr), as TRL
// v1.9.0 computes it (its first term reads the log-ratio sc); WPO and LD-DPO apply.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { add, mul, sigmoid, sub } from './ops.js';

export type ApoDownConfig = { beta: number } & DpoOptions;

export const apoDown: PreferenceLoss<ApoDownConfig> = {
  name: 'apo_down',
  description: 'Anchored Preference Optimization, down anchor: σ(β·sc) + 1 − σ(βΔ)',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, ...DPO_OPTION_DEFAULTS },
  configHelp: { beta: 'β: scale of the log-ratios inside the sigmoids (TRL beta)', ...DPO_OPTION_HELP },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('apo_down', 'beta', c.beta);
    validateDpoOptions('apo_down', c);
  },
  compute(batch, config) {
    const { beta } = config;
    const s = logRatios('apo_down', batch);
    const f = divergenceScores(s, config);
    const delta = sub(f.chosen, f.rejected);
    const loss = pairMean('apo_down', batch, add(sigmoid(mul(s.chosen, beta)), sub(1, sigmoid(mul(delta, beta)))), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
