// CPO (Xu et al., 2024): a reference-free DPO term plus a behaviour-cloning term on the chosen
// answers, L = mean(−logσ(β(πc − πr))) + α·NLL, the NLL as TRL's CPOTrainer computes it (−Σπc / Σnc
// over every chosen token of the batch) or, with nllAverage 'rows', mean(−πc/nc).
import type { PreferenceLoss } from './types.js';
import { nonNegative, positive } from './checks.js';
import { rewardMetrics, scaled } from './terms.js';
import { NLL_AVERAGES, NLL_AVERAGE_HELP, type NllAverage, chosenNll, withNllNeeds } from './nll.js';
import { add, logSigmoid, mean, mul, neg, noGrad, sub } from './ops.js';

export type CpoConfig = { beta: number; alpha: number; nllAverage: NllAverage };

const base = { reference: false, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: true };

export const cpo: PreferenceLoss<CpoConfig> = {
  name: 'cpo',
  description: 'Contrastive Preference Optimization: reference-free DPO plus α × the chosen answers\' NLL',
  data: { paired: true, unpaired: false },
  needs: withNllNeeds(base, 'tokens'),
  needsFor: (c) => withNllNeeds(base, c.nllAverage),
  defaults: { beta: 0.1, alpha: 1, nllAverage: 'tokens' },
  configHelp: {
    beta: 'β: scale of the policy margin (TRL CPOConfig beta)',
    alpha: 'weight of the NLL term on the chosen answers (TRL cpo_alpha)',
    nllAverage: NLL_AVERAGE_HELP,
  },
  choices: { nllAverage: NLL_AVERAGES },
  validate(c) {
    positive('cpo', 'beta', c.beta);
    nonNegative('cpo', 'alpha', c.alpha);
  },
  compute(batch, { beta, alpha, nllAverage }) {
    const pc = batch.chosen.policyLogps, pr = batch.rejected.policyLogps;
    const prefer = mean(neg(logSigmoid(mul(sub(pc, pr), beta))));
    const nll = chosenNll('cpo', batch, nllAverage);
    const loss = add(prefer, mul(nll, alpha));
    const metrics = rewardMetrics(batch, scaled(pc, beta), scaled(pr, beta));
    metrics['nll_loss'] = noGrad(() => mul(nll, 1));
    return { loss, metrics };
  },
};
