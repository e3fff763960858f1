// AOT on unpaired data (Melnyk et al., 2024): the chosen log-ratios should dominate the rejected
// ones in distribution; the 1-D transport plan matches them by rank:
// δ = sort(sc) − sort(sr) (ascending), L = −(1−ε)·logσ(βδ) − ε·logσ(−βδ). Rank matching needs as
// many chosen as rejected rows (M = N), though the rows need not share prompts. Of TRL's
// DPOTrainer options it takes LD-DPO's ldAlpha, on paired data (TRL's DPOTrainer has only that).
import type { PreferenceLoss } from './types.js';
import { inRange, lossesThat, positive } from './checks.js';
import { logRatios, rewardMetrics, scaled, sigmoidLoss } from './terms.js';
import { LD_DPO_DEFAULTS, LD_DPO_HELP, ldDpoNeeds, validateLdAlpha, type LdDpoConfig } from './ld-dpo.js';
import { mean, mul, sort, sub } from './ops.js';

export type AotUnpairedConfig = { beta: number; labelSmoothing: number } & LdDpoConfig;

const base = { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: false };

export const aotUnpaired: PreferenceLoss<AotUnpairedConfig> = {
  name: 'aot_unpaired',
  description: 'Alignment via Optimal Transport, unpaired: sorted chosen log-ratios against sorted rejected ones (M = N)',
  data: { paired: true, unpaired: true },
  needs: base,
  needsFor: (c) => ({ ...base, ...ldDpoNeeds(c) }),
  defaults: { beta: 0.1, labelSmoothing: 0, ...LD_DPO_DEFAULTS },
  configHelp: { beta: 'β: scale of the sorted log-ratio differences (TRL beta)', labelSmoothing: 'ε: weight of the flipped term, in [0, 0.5] (TRL label_smoothing)', ...LD_DPO_HELP },
  validate(c) {
    positive('aot_unpaired', 'beta', c.beta);
    inRange('aot_unpaired', 'labelSmoothing', c.labelSmoothing, 0, 0.5);
    validateLdAlpha('aot_unpaired', c);
  },
  compute(batch, { beta, labelSmoothing }) {
    const M = batch.chosen.policyLogps.shape[0], N = batch.rejected.policyLogps.shape[0];
    if (M !== N) {
      throw new Error(`loss 'aot_unpaired' matches chosen and rejected rows by rank, so it needs M = N; got ${M} chosen and ${N} rejected rows. Losses that accept M ≠ N: ${lossesThat((l) => l.data.unpaired && l.name !== 'aot_unpaired')}`);
    }
    const s = logRatios('aot_unpaired', batch);
    const delta = sub(sort(s.chosen, 0).values, sort(s.rejected, 0).values);
    const loss = mean(sigmoidLoss(mul(delta, beta), labelSmoothing));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
