// IPO (Azar et al., 2024): L = (h − 1/(2β))², h the log-ratio margin. With tokenAverage
// (the default, as TRL) each side's log-ratio is divided by its token count: h = sc/nc − sr/nr;
// tokenAverage: false gives the paper's sequence-level h = Δ (the RPO paper's Eq. 5).
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, perToken, rewardMetrics, scaled } from './terms.js';
import { mean, square, sub } from './ops.js';

export type IpoConfig = { beta: number; tokenAverage: boolean };

export const ipo: PreferenceLoss<IpoConfig> = {
  name: 'ipo',
  description: 'Identity Preference Optimization: squared distance of the log-ratio margin from 1/(2β)',
  data: { paired: true, unpaired: false },
  needs: { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: true },
  needsFor: (c) => ({ ...ipo.needs, tokenAverage: c.tokenAverage }),
  defaults: { beta: 0.1, tokenAverage: true },
  configHelp: { beta: 'β: the target margin is 1/(2β) (TRL beta)', tokenAverage: 'divide log-probs by token counts, as TRL does (false: the IPO paper\'s sums)' },
  validate(c) {
    positive('ipo', 'beta', c.beta);
  },
  compute(batch, { beta, tokenAverage }) {
    const s = logRatios('ipo', batch);
    const h = tokenAverage
      ? sub(perToken('ipo', batch, 'chosen', s.chosen), perToken('ipo', batch, 'rejected', s.rejected))
      : sub(s.chosen, s.rejected);
    const loss = mean(square(sub(h, 1 / (2 * beta))));
    return { loss, metrics: rewardMetrics(batch, scaled(s.chosen, beta), scaled(s.rejected, beta)) };
  },
};
