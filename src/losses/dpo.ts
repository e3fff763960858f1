// DPO (Rafailov et al., 2023, Eq. 7), with cDPO's label smoothing (Mitchell, 2023) and f-DPO's
// divergences (TRL's f_divergence_type): L = −(1−ε)·logσ(βΔ) − ε·logσ(−βΔ), Δ = f′(sc) − f′(sr),
// s = π − ρ; with the default reverse_kl f′(s) = s and Δ = (πc − ρc) − (πr − ρr).
// TRL's DPOTrainer options: use_weighting (WPO: each pair's loss times the answers' weights w_c·w_r)
// and ld_alpha (LD-DPO: π and ρ with the verbose part of the longer answer weighted by α).
import type { PreferenceLoss } from './types.js';
import { inRange, positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled, sigmoidLoss } from './terms.js';
import { divergenceScore, F_DIVERGENCES, F_DIVERGENCE_DEFAULTS, F_DIVERGENCE_HELP, type FDivergence } from './f-divergence.js';
import { wpoWeighted } from './wpo.js';
import { mean, mul, sub } from './ops.js';

export type DpoConfig = { beta: number; labelSmoothing: number; fDivergenceType: FDivergence; fAlphaDivergenceCoef: number; useWeighting: boolean; ldAlpha: number };

export const dpo: PreferenceLoss<DpoConfig> = {
  name: 'dpo',
  description: 'Direct Preference Optimization; conservative DPO (cDPO) when labelSmoothing > 0; f-DPO with fDivergenceType; WPO weighting; LD-DPO',
  data: { paired: true, unpaired: false },
  needs: { ...meanOverPairsWithReference, wpoWeights: true },
  needsFor: (c) => ({
    ...meanOverPairsWithReference,
    ...(c.useWeighting ? { wpoWeights: true } : {}),
    ...(c.ldAlpha !== 1 ? { verboseWeight: c.ldAlpha } : {}),
  }),
  defaults: { beta: 0.1, labelSmoothing: 0, ...F_DIVERGENCE_DEFAULTS, useWeighting: false, ldAlpha: 1 },
  configHelp: {
    beta: 'β: deviation from the reference; larger stays closer (TRL beta)',
    labelSmoothing: 'ε: conservative DPO, the chance a label is flipped, in [0, 0.5] (TRL label_smoothing)',
    ...F_DIVERGENCE_HELP,
    useWeighting: "WPO: weight each pair's loss by its answers' probabilities under the policy (TRL use_weighting)",
    ldAlpha: 'LD-DPO: weight in [0, 1] of the tokens past the shorter answer\'s length; 1: none (TRL ld_alpha)',
  },
  choices: { fDivergenceType: F_DIVERGENCES },
  validate(c) {
    positive('dpo', 'beta', c.beta);
    inRange('dpo', 'labelSmoothing', c.labelSmoothing, 0, 0.5);
    inRange('dpo', 'ldAlpha', c.ldAlpha, 0, 1);
  },
  compute(batch, config) {
    const { beta, labelSmoothing, useWeighting } = config;
    const s = logRatios('dpo', batch);
    const delta = sub(divergenceScore(s.chosen, config), divergenceScore(s.rejected, config));
    const perPair = sigmoidLoss(mul(delta, beta), labelSmoothing);
    const loss = mean(useWeighting ? wpoWeighted('dpo', batch, perPair) : perPair);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
