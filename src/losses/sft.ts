// Supervised fine-tuning on the chosen answers, as a loss to mix with a preference loss:
// L = mean(−πc/nc), the per-token negative log-likelihood averaged over rows.
import type { PreferenceLoss } from './types.js';
import { perToken } from './terms.js';
import { mean, neg, noGrad } from './ops.js';

export type SftConfig = Record<string, never>;

export const sft: PreferenceLoss<SftConfig> = {
  name: 'sft',
  description: 'Negative log-likelihood of the chosen answers per token (for mixing with a preference loss)',
  data: { paired: true, unpaired: true },
  needs: { reference: false, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: true },
  defaults: {},
  configHelp: {},
  compute(batch) {
    const loss = mean(neg(perToken('sft', batch, 'chosen', batch.chosen.policyLogps)));
    const metrics = noGrad(() => ({ 'logps/chosen': mean(batch.chosen.policyLogps) }));
    return { loss, metrics };
  },
};
