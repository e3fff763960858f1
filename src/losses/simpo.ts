// SimPO (Meng et al., 2024): a reference-free reward β·π/n and a target margin γ = gammaBetaRatio·β,
// z = β(πc/nc − πr/nr) − γ, L = −(1−ε)·logσ(z) − ε·logσ(−z).
import type { PreferenceLoss } from './types.js';
import { inRange, positive } from './checks.js';
import { perToken, rewardMetrics, scaled, sigmoidLoss } from './terms.js';
import { mean, mul, sub } from './ops.js';

export type SimpoConfig = { beta: number; gammaBetaRatio: number; labelSmoothing: number };

export const simpo: PreferenceLoss<SimpoConfig> = {
  name: 'simpo',
  description: 'Simple Preference Optimization: reference-free, length-normalised rewards with a margin γ',
  data: { paired: true, unpaired: false },
  needs: { reference: false, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: true },
  defaults: { beta: 2.0, gammaBetaRatio: 0.25, labelSmoothing: 0 },
  configHelp: { beta: 'β: scale of the length-normalised margin (SimPO\'s; TRL CPOConfig beta)', gammaBetaRatio: 'γ/β: the target margin over β (SimPO\'s gamma_beta_ratio; TRL simpo_gamma is γ)', labelSmoothing: 'ε: chance a label is flipped, in [0, 0.5] (TRL label_smoothing)' },
  validate(c) {
    positive('simpo', 'beta', c.beta);
    inRange('simpo', 'labelSmoothing', c.labelSmoothing, 0, 0.5);
  },
  compute(batch, { beta, gammaBetaRatio, labelSmoothing }) {
    const ac = perToken('simpo', batch, 'chosen', batch.chosen.policyLogps);
    const ar = perToken('simpo', batch, 'rejected', batch.rejected.policyLogps);
    const z = sub(mul(sub(ac, ar), beta), gammaBetaRatio * beta);
    const loss = mean(sigmoidLoss(z, labelSmoothing));
    return { loss, metrics: rewardMetrics(batch, scaled(ac, beta), scaled(ar, beta)) };
  },
};
