// AOT on paired data (Melnyk et al., 2024): first-order stochastic dominance of the chosen margins
// over the reference's, via the 1-D optimal transport plan, which for equal batch sizes matches the
// i-th smallest of one with the i-th smallest of the other:
// δ = sort(πc − πr) − sort(ρc − ρr) (ascending), L = −(1−ε)·logσ(βδ) − ε·logσ(−βδ).
// Of TRL's DPOTrainer options it takes LD-DPO's ldAlpha (TRL refuses WPO for the sorting types, and
// their δ reads no f-divergence scores).
import type { PreferenceLoss } from './types.js';
import { inRange, positive, requireReference } from './checks.js';
import { logRatios, rewardMetrics, scaled, sigmoidLoss } from './terms.js';
import { LD_DPO_DEFAULTS, LD_DPO_HELP, ldDpoNeeds, validateLdAlpha, type LdDpoConfig } from './ld-dpo.js';
import { mean, mul, sort, sub } from './ops.js';

export type AotConfig = { beta: number; labelSmoothing: number } & LdDpoConfig;

const base = { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: false };

export const aot: PreferenceLoss<AotConfig> = {
  name: 'aot',
  description: 'Alignment via Optimal Transport, paired: sorted policy margins against sorted reference margins',
  data: { paired: true, unpaired: false },
  needs: base,
  needsFor: (c) => ({ ...base, ...ldDpoNeeds(c) }),
  defaults: { beta: 0.1, labelSmoothing: 0, ...LD_DPO_DEFAULTS },
  configHelp: { beta: 'β: scale of the sorted margin differences (TRL beta)', labelSmoothing: 'ε: weight of the flipped term, in [0, 0.5] (TRL label_smoothing)', ...LD_DPO_HELP },
  validate(c) {
    positive('aot', 'beta', c.beta);
    inRange('aot', 'labelSmoothing', c.labelSmoothing, 0, 0.5);
    validateLdAlpha('aot', c);
  },
  compute(batch, { beta, labelSmoothing }) {
    const ref = requireReference('aot', batch);
    const policyMargins = sort(sub(batch.chosen.policyLogps, batch.rejected.policyLogps), 0).values;
    const refMargins = sort(sub(ref.chosen, ref.rejected), 0).values;
    const loss = mean(sigmoidLoss(mul(sub(policyMargins, refMargins), beta), labelSmoothing));
    const s = logRatios('aot', batch);
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
