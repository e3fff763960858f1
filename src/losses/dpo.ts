// DPO (Rafailov et al., 2023, Eq. 7), with cDPO's label smoothing (Mitchell, 2023) and f-DPO's
// divergences (TRL's f_divergence_type): L = −(1−ε)·logσ(βΔ) − ε·logσ(−βΔ), Δ = f′(sc) − f′(sr),
// s = π − ρ; with the default reverse_kl f′(s) = s and Δ = (πc − ρc) − (πr − ρr).
// TRL's DPOTrainer options: use_weighting (WPO: each pair's loss times the answers' weights w_c·w_r)
// and ld_alpha (LD-DPO: π and ρ with the verbose part of the longer answer weighted by α).
import type { PreferenceLoss } from './types.js';
import { inRange, positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled, sigmoidLoss } from './terms.js';
import { divergenceScores } from './f-divergence.js';
import { pairMean } from './wpo.js';
import { DPO_OPTION_CHOICES, DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
import { mul, sub } from './ops.js';

export type DpoConfig = { beta: number; labelSmoothing: number } & DpoOptions;

export const dpo: PreferenceLoss<DpoConfig> = {
  name: 'dpo',
  description: 'Direct Preference Optimization; conservative DPO (cDPO) when labelSmoothing > 0; f-DPO with fDivergenceType; WPO weighting; LD-DPO',
  data: { paired: true, unpaired: false },
  needs: withWpoWeights(meanOverPairsWithReference),
  needsFor: (c) => dpoOptionNeeds(meanOverPairsWithReference, c),
  defaults: { beta: 0.1, labelSmoothing: 0, ...DPO_OPTION_DEFAULTS },
  configHelp: {
    beta: 'β: deviation from the reference; larger stays closer (TRL beta)',
    labelSmoothing: 'ε: conservative DPO, the chance a label is flipped, in [0, 0.5] (TRL label_smoothing)',
    ...DPO_OPTION_HELP,
  },
  choices: DPO_OPTION_CHOICES,
  validate(c) {
    positive('dpo', 'beta', c.beta);
    inRange('dpo', 'labelSmoothing', c.labelSmoothing, 0, 0.5);
    validateDpoOptions('dpo', c);
  },
  compute(batch, config) {
    const { beta, labelSmoothing } = config;
    const s = logRatios('dpo', batch);
    const f = divergenceScores(s, config);
    const perPair = sigmoidLoss(mul(sub(f.chosen, f.rejected), beta), labelSmoothing);
    return { loss: pairMean('dpo', batch, perPair, config), metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
