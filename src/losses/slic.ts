// SLiC-HF (Zhao et al., 2023, arXiv:2305.10425) as the RPO authors' trainers.py (SLiCTrainer) computes
// it, the paper's SLiC baseline: a reference-free calibration hinge on the sequence log-probs plus
// λ × the chosen answer's negative log-likelihood (its sequence sum, as the code's −πc),
// L = mean(max(0, β − πc + πr) + λ·(−πc)).
import type { PreferenceLoss } from './types.js';
import { nonNegative, positive } from './checks.js';
import { rewardMetrics } from './terms.js';
import { add, mean, mul, neg, noGrad, relu, sub } from './ops.js';

export type SlicConfig = { beta: number; lambdaCoef: number };

export const slic: PreferenceLoss<SlicConfig> = {
  name: 'slic',
  description: 'SLiC-HF: reference-free hinge max(0, β − πc + πr) plus λ × the chosen answer\'s NLL (the RPO authors\' SLiCTrainer)',
  data: { paired: true, unpaired: false },
  needs: { reference: false, promptEmbeddings: false, klEstimate: false, tokenAverage: false, meanOverPairs: true },
  defaults: { beta: 1, lambdaCoef: 0.1 },
  configHelp: {
    beta: 'δ: the margin the chosen log-prob must clear over the rejected one (the authors\' slic.yaml beta)',
    lambdaCoef: 'λ: weight of the chosen answer\'s NLL, −πc summed over its tokens (the authors\' lambda_coef)',
  },
  validate(c) {
    positive('slic', 'beta', c.beta);
    nonNegative('slic', 'lambdaCoef', c.lambdaCoef);
  },
  compute(batch, { beta, lambdaCoef }) {
    const pc = batch.chosen.policyLogps, pr = batch.rejected.policyLogps;
    const calibration = relu(add(sub(pr, pc), beta));
    const nll = neg(pc);
    const loss = mean(add(calibration, mul(nll, lambdaCoef)));
    // The authors' rewards are the log-probs themselves (no β).
    const metrics = rewardMetrics(batch, noGrad(() => mul(pc, 1)), noGrad(() => mul(pr, 1)));
    metrics['nll_loss'] = noGrad(() => mean(nll));
    return { loss, metrics };
  },
};
