// DPO (Rafailov et al., 2023, Eq. 7), with cDPO's label smoothing (Mitchell, 2023):
// L = −(1−ε)·logσ(βΔ) − ε·logσ(−βΔ), Δ = (πc − ρc) − (πr − ρr).
import type { PreferenceLoss } from './types.js';
import { inRange, positive } from './checks.js';
import { logRatios, meanOverPairsWithReference, rewardMetrics, scaled, sigmoidLoss } from './terms.js';
import { mean, mul, sub } from './ops.js';

export type DpoConfig = { beta: number; labelSmoothing: number };

export const dpo: PreferenceLoss<DpoConfig> = {
  name: 'dpo',
  description: 'Direct Preference Optimization; conservative DPO (cDPO) when labelSmoothing > 0',
  data: { paired: true, unpaired: false },
  needs: meanOverPairsWithReference,
  defaults: { beta: 0.1, labelSmoothing: 0 },
  configHelp: { beta: 'β: deviation from the reference; larger stays closer (TRL beta)', labelSmoothing: 'ε: conservative DPO, the chance a label is flipped, in [0, 0.5] (TRL label_smoothing)' },
  validate(c) {
    positive('dpo', 'beta', c.beta);
    inRange('dpo', 'labelSmoothing', c.labelSmoothing, 0, 0.5);
  },
  compute(batch, { beta, labelSmoothing }) {
    const s = logRatios('dpo', batch);
    const loss = mean(sigmoidLoss(mul(sub(s.chosen, s.rejected), beta), labelSmoothing));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
