// DPO (Rafailov et al., 2023, Eq. 7), with cDPO's label smoothing (Mitchell, 2023) and f-DPO's
// divergences (TRL's f_divergence_type): L = −(1−ε)·logσ(βΔ) − ε·logσ(−βΔ), Δ = f′(sc) − f′(sr),
// s = π − ρ; with the default reverse_kl f′(s) = s and Δ = (πc − ρc) − (πr − ρr).
import type { PreferenceLoss } from './types.js';
import { inRange, positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled, sigmoidLoss } from './terms.js';
import { divergenceScore, F_DIVERGENCES, F_DIVERGENCE_DEFAULTS, F_DIVERGENCE_HELP, type FDivergence } from './f-divergence.js';
import { mean, mul, sub } from './ops.js';

export type DpoConfig = { beta: number; labelSmoothing: number; fDivergenceType: FDivergence; fAlphaDivergenceCoef: number };

export const dpo: PreferenceLoss<DpoConfig> = {
  name: 'dpo',
  description: 'Direct Preference Optimization; conservative DPO (cDPO) when labelSmoothing > 0; f-DPO with fDivergenceType',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1, labelSmoothing: 0, ...F_DIVERGENCE_DEFAULTS },
  configHelp: {
    beta: 'β: deviation from the reference; larger stays closer (TRL beta)',
    labelSmoothing: 'ε: conservative DPO, the chance a label is flipped, in [0, 0.5] (TRL label_smoothing)',
    ...F_DIVERGENCE_HELP,
  },
  choices: { fDivergenceType: F_DIVERGENCES },
  validate(c) {
    positive('dpo', 'beta', c.beta);
    inRange('dpo', 'labelSmoothing', c.labelSmoothing, 0, 0.5);
  },
  compute(batch, config) {
    const { beta, labelSmoothing } = config;
    const s = logRatios('dpo', batch);
    const delta = sub(divergenceScore(s.chosen, config), divergenceScore(s.rejected, config));
    const loss = mean(sigmoidLoss(mul(delta, beta), labelSmoothing));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
