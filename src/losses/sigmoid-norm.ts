// Length-normalised DPO (Tülu 3, Lambert et al., 2024; TRL's 'sigmoid_norm'):
// L = −logσ(β·(sc/nc − sr/nr)).
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, perToken, rewardMetrics, scaled } from './terms.js';
import { logSigmoid, mean, mul, neg, sub } from './ops.js';

export type SigmoidNormConfig = { beta: number };

export const sigmoidNorm: PreferenceLoss<SigmoidNormConfig> = {
  name: 'sigmoid_norm',
  description: 'DPO on per-token log-ratios: −logσ(β(sc/nc − sr/nr))',
  data: { paired: true, unpaired: false },
  needs: { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: true },
  defaults: { beta: 0.1 },
  configHelp: { beta: 'β: scale of the length-normalised margin (TRL beta)' },
  validate(c) {
    positive('sigmoid_norm', 'beta', c.beta);
  },
  compute(batch, { beta }) {
    const s = logRatios('sigmoid_norm', batch);
    const h = sub(perToken('sigmoid_norm', batch, 'chosen', s.chosen), perToken('sigmoid_norm', batch, 'rejected', s.rejected));
    const loss = mean(neg(logSigmoid(mul(h, beta))));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
