// DPO-Positive (Pal et al., 2024, "Smaug", arXiv:2402.13228): DPO plus a penalty whenever the
// policy makes the chosen answer less likely than the reference did,
// L = −logσ(β·(Δ − λ·max(0, ρc − πc))), Δ = (πc − ρc) − (πr − ρr).
import {
  type PreferenceLoss, type Tensor,
  logSigmoid, maximum, mean, mul, neg, noGrad, sub, greater,
} from '../../../src/index.js';

export type DpopConfig = { beta: number; lambda: number };

export const dpop: PreferenceLoss<DpopConfig> = {
  name: 'dpop',
  description: 'DPO-Positive: DPO with a penalty when the chosen answer falls below the reference',
  // Each chosen row is compared with the rejected row of the same prompt.
  data: { paired: true, unpaired: false },
  // The registry refuses a batch without refLogps before compute() runs. The loss is a mean of
  // one term per pair, so gradient accumulation may take it one micro-batch at a time.
  needs: { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: false, meanOverPairs: true },
  defaults: { beta: 0.1, lambda: 50 },
  validate(c) {
    if (!(c.beta > 0)) throw new Error(`loss 'dpop': config key 'beta' must be > 0, got ${c.beta}`);
    if (!(c.lambda >= 0)) throw new Error(`loss 'dpop': config key 'lambda' must be ≥ 0, got ${c.lambda}`);
  },
  compute(batch, { beta, lambda }) {
    const sc = sub(batch.chosen.policyLogps, batch.chosen.refLogps!);
    const sr = sub(batch.rejected.policyLogps, batch.rejected.refLogps!);
    const penalty = maximum(neg(sc), 0); // max(0, ρc − πc)
    const z = mul(sub(sub(sc, sr), mul(penalty, lambda)), beta);
    const loss = mean(neg(logSigmoid(z)));
    // Metrics are for logging: computed without a graph.
    const metrics = noGrad((): Record<string, Tensor> => {
      const rc = mul(sc, beta), rr = mul(sr, beta);
      return {
        'rewards/chosen': mean(rc),
        'rewards/rejected': mean(rr),
        'rewards/accuracies': mean(greater(rc, rr)),
        'dpop/penalty': mean(penalty),
      };
    });
    return { loss, metrics };
  },
};
