// Supervised fine-tuning on the chosen answers, as a loss to mix with a preference loss: the
// negative log-likelihood of the chosen answers, by default as TRL's `sft` loss type computes it
// (one cross-entropy over every chosen token of the batch, −Σπc / Σnc); nllAverage 'rows' gives
// the mean over rows of each row's per-token NLL, mean(−πc/nc), and 'sequences' the RPO authors'
// SFTTrainer's mean over rows of each row's summed NLL, mean(−πc). It reads the chosen log-probs
// unweighted (needs.unweightedLogps): mixed with LD-DPO (TRL's [sigmoid, sft] with ld_alpha) its
// tokens each count 1 while the other term's verbose part counts α, as in TRL.
import type { PreferenceLoss } from './types.js';
import { NLL_AVERAGES, NLL_AVERAGE_HELP, type NllAverage, chosenNll, withNllNeeds } from './nll.js';
import { mean, noGrad } from './ops.js';
import { unweightedChosenLogps } from './checks.js';

export type SftConfig = { nllAverage: NllAverage };

// Token counts come with the NLL forms that divide by them (withNllNeeds).
const base = { reference: false, promptEmbeddings: false, klEstimate: false, tokenAverage: false, meanOverPairs: true, unweightedLogps: true };

export const sft: PreferenceLoss<SftConfig> = {
  name: 'sft',
  description: 'Negative log-likelihood of the chosen answers, per token by default (for mixing with a preference loss)',
  data: { paired: true, unpaired: true },
  needs: withNllNeeds(base, 'tokens'),
  needsFor: (c) => withNllNeeds(base, c.nllAverage),
  defaults: { nllAverage: 'tokens' },
  formerDefaults: { nllAverage: 'rows' },
  configHelp: { nllAverage: NLL_AVERAGE_HELP },
  choices: { nllAverage: NLL_AVERAGES },
  compute(batch, { nllAverage }) {
    const loss = chosenNll('sft', batch, nllAverage);
    const metrics = noGrad(() => ({ 'logps/chosen': mean(unweightedChosenLogps(batch)) }));
    return { loss, metrics };
  },
};
