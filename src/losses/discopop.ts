// DiscoPOP's log-ratio modulated loss (Chris Lu et al., 2024): a σ-gated blend of DPO's
// logistic loss and an exponential loss, m = σ(βΔ/τd):
// L = (1 − m)·(−logσ(βΔ)) + m·exp(−βΔ); with TRL's DPOTrainer options (dpo-options.ts)
// Δ = f′(sc) − f′(sr), WPO and LD-DPO.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { add, div, exp, logSigmoid, mul, neg, sigmoid, sub } from './ops.js';

export type DiscopopConfig = { beta: number; discopopTau: number } & DpoOptions;

export const discopop: PreferenceLoss<DiscopopConfig> = {
  name: 'discopop',
  description: 'DiscoPOP: logistic and exponential losses blended by σ(βΔ/discopopTau)',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, discopopTau: 0.05, ...DPO_OPTION_DEFAULTS },
  configHelp: { beta: 'β: scale of the margin (TRL beta)', discopopTau: 'τ: temperature of the log-ratio modulation (TRL discopop_tau)', ...DPO_OPTION_HELP },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('discopop', 'beta', c.beta);
    positive('discopop', 'discopopTau', c.discopopTau);
    validateDpoOptions('discopop', c);
  },
  compute(batch, config) {
    const { beta, discopopTau } = config;
    const s = logRatios('discopop', batch);
    const f = divergenceScores(s, config);
    const z = mul(sub(f.chosen, f.rejected), beta);
    const m = sigmoid(div(z, discopopTau));
    const loss = pairMean('discopop', batch, add(mul(sub(1, m), neg(logSigmoid(z))), mul(m, exp(neg(z)))), config);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
