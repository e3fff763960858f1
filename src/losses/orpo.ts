// ORPO (Hong et al., 2024): a negative log-likelihood term on the chosen answers plus λ × the log
// odds ratio of chosen over rejected, on per-token average log-probs a = π/n (odds(a) = e^a/(1 − e^a)):
// L = NLL − λ·mean(logσ(log odds(ac) − log odds(ar))), as TRL's ORPOTrainer (its `beta` is λ) with
// the NLL averaged over every chosen token of the batch (Σπc / Σnc), as its cross-entropy does.
import type { PreferenceLoss } from './types.js';
import type { Tensor } from '../autograd/tensor.js';
import { positive, requireTokenCounts } from './checks.js';
import { perToken, rewardMetrics, scaled } from './terms.js';
import { cast, div, exp, log, logSigmoid, mean, mul, neg, noGrad, sub, sum } from './ops.js';

export type OrpoConfig = { beta: number };

/** log(1 − e^a) for a < 0 (an average token log-prob). */
const log1mExp = (a: Tensor): Tensor => log(sub(1, exp(a)));

export const orpo: PreferenceLoss<OrpoConfig> = {
  name: 'orpo',
  description: 'Odds Ratio Preference Optimization: the chosen answers\' NLL plus λ × the log odds ratio, no reference',
  data: { paired: true, unpaired: false },
  needs: { reference: false, promptEmbeddings: false, klEstimate: false, tokenAverage: true },
  defaults: { beta: 0.1 },
  configHelp: { beta: 'λ: weight of the log odds-ratio term (TRL ORPOConfig beta)' },
  validate(c) {
    positive('orpo', 'beta', c.beta);
  },
  compute(batch, { beta }) {
    const pc = batch.chosen.policyLogps, pr = batch.rejected.policyLogps;
    const ac = perToken('orpo', batch, 'chosen', pc), ar = perToken('orpo', batch, 'rejected', pr);
    const logOdds = sub(sub(ac, ar), sub(log1mExp(ac), log1mExp(ar)));
    const ratio = logSigmoid(logOdds);
    const nll = neg(div(sum(pc), sum(cast(requireTokenCounts('orpo', batch, 'chosen'), pc.dtype))));
    const loss = sub(nll, mul(mean(ratio), beta));
    const metrics = rewardMetrics(batch, scaled(ac, beta), scaled(ar, beta));
    metrics['nll_loss'] = noGrad(() => mul(nll, 1));
    metrics['log_odds_ratio'] = noGrad(() => mean(ratio));
    metrics['log_odds_chosen'] = noGrad(() => mean(logOdds));
    return { loss, metrics };
  },
};
