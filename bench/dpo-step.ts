// The DPO update the bench's training-step cases share: the policy's sequence log-probs (with
// gradient), the reference's (a callback, run in its own tidy without gradient), the DPO loss at
// β = 0.1 over `pairs` chosen rows followed by as many rejected rows, backward, optimizer step.
import * as r from '../src/index.js';

export function dpoStep(policy: r.CausalLM, referenceForward: (ids: r.Tensor) => r.Tensor, opt: r.AdamW, pairs: number, [ids, targets, mask]: r.Tensor[]): r.Tensor {
  const lp = r.sequenceLogprobs(policy.forward(ids), targets, mask);
  const ref = r.tidy(() => r.noGrad(() => r.sequenceLogprobs(referenceForward(ids), targets, mask)));
  const side = (x: r.Tensor, k: number) => r.narrow(x, 0, k * pairs, pairs);
  const margin = r.sub(r.sub(side(lp, 0), side(lp, 1)), r.sub(side(ref, 0), side(ref, 1)));
  const loss = r.neg(r.mean(r.logSigmoid(r.mul(margin, 0.1))));
  loss.backward();
  opt.step();
  opt.zeroGrad();
  return loss;
}
