// ORPO (Hong et al., 2024): a negative log-likelihood term on the chosen answers plus λ × the log
// odds ratio of chosen over rejected, on per-token average log-probs a = π/n (odds(a) = e^a/(1 − e^a)):
// L = NLL − λ·mean(logσ(log odds(ac) − log odds(ar))), as TRL's ORPOTrainer (its `beta` is λ). The
// NLL is TRL's cross-entropy over every chosen token of the batch (Σπc / Σnc); TRL's decoder-only
// trainer spans the prompt's tokens too (nllPrompt); nllAverage 'rows' averages per row instead.
import type { PreferenceLoss } from './types.js';
import type { Tensor } from '../autograd/tensor.js';
import { positive } from './checks.js';
import { perToken, rewardMetrics, scaled } from './terms.js';
import { NLL_AVERAGES, NLL_AVERAGE_HELP, type NllAverage, chosenNll, withNllNeeds } from './nll.js';
import { exp, log, logSigmoid, mean, mul, noGrad, sub } from './ops.js';

export type OrpoConfig = { beta: number; nllAverage: NllAverage; nllPrompt: boolean };

/** log(1 − e^a) for a < 0 (an average token log-prob). */
const log1mExp = (a: Tensor): Tensor => log(sub(1, exp(a)));

// The odds ratio reads both sides' averages over the batch's pairs; the NLL decides the rest.
const base = { reference: false, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: true };

export const orpo: PreferenceLoss<OrpoConfig> = {
  name: 'orpo',
  description: 'Odds Ratio Preference Optimization: the chosen answers\' NLL plus λ × the log odds ratio, no reference',
  data: { paired: true, unpaired: false },
  needs: withNllNeeds(base, 'tokens', true),
  needsFor: (c) => withNllNeeds(base, c.nllAverage, c.nllPrompt),
  defaults: { beta: 0.1, nllAverage: 'tokens', nllPrompt: false },
  formerDefaults: { nllAverage: 'rows' },
  configHelp: {
    beta: 'λ: weight of the log odds-ratio term (TRL ORPOConfig beta)',
    nllAverage: NLL_AVERAGE_HELP,
    nllPrompt: "the NLL spans the prompt's tokens too, as TRL's ORPOTrainer for decoder-only models",
  },
  choices: { nllAverage: NLL_AVERAGES },
  validate(c) {
    positive('orpo', 'beta', c.beta);
  },
  compute(batch, { beta, nllAverage, nllPrompt }) {
    const pc = batch.chosen.policyLogps, pr = batch.rejected.policyLogps;
    const ac = perToken('orpo', batch, 'chosen', pc), ar = perToken('orpo', batch, 'rejected', pr);
    const logOdds = sub(sub(ac, ar), sub(log1mExp(ac), log1mExp(ar)));
    const ratio = logSigmoid(logOdds);
    const nll = chosenNll('orpo', batch, nllAverage, nllPrompt);
    const loss = sub(nll, mul(mean(ratio), beta));
    const metrics = rewardMetrics(batch, scaled(ac, beta), scaled(ar, beta));
    metrics['nll_loss'] = noGrad(() => mul(nll, 1));
    metrics['log_odds_ratio'] = noGrad(() => mean(ratio));
    metrics['log_odds_chosen'] = noGrad(() => mean(logOdds));
    return { loss, metrics };
  },
};
