// CPO (Xu et al., 2024) as TRL v1.9.0's CPOTrainer computes it: a reference-free preference term on
// the policy's rewards plus cpoAlpha × an NLL term on the chosen answers,
// L = mean(ℓ(rc − rr)) + cpoAlpha·NLL, the NLL as TRL computes it (−Σπc / Σnc over every chosen
// token of the batch) or, with nllAverage 'rows', mean(−πc/nc); by lossType
//   sigmoid: ℓ(h) = −(1−ε)·logσ(βh) − ε·logσ(−βh)       (CPO, Eq. 3; cDPO's ε)
//   hinge:   ℓ(h) = relu(1 − βh)                          (SLiC's hinge)
//   ipo:     ℓ(h) = (h − 1/(2β))²                         (IPO)
//   simpo:   ℓ(h) = −(1−ε)·logσ(βh − γ) − ε·logσ(γ − βh)   (SimPO's margin γ; CPO-SimPO while cpoAlpha > 0)
// The reward r is the log-prob x (its per-token average π/n for ipo and simpo), or AlphaPO's
// (1 − e^(−αx))/α when alpha ≠ 0 (Gupta et al., 2025, arXiv:2501.03884).
import type { PreferenceLoss } from './types.js';
import type { Tensor } from '../autograd/tensor.js';
import { inRange, positive } from './checks.js';
import { perToken, rewardMetrics, scaled, sigmoidLoss } from './terms.js';
import { NLL_AVERAGES, NLL_AVERAGE_HELP, type NllAverage, chosenNll, withNllNeeds } from './nll.js';
import { add, exp, mean, mul, noGrad, relu, square, sub } from './ops.js';

export type CpoLossType = 'sigmoid' | 'hinge' | 'ipo' | 'simpo';
export const CPO_LOSS_TYPES: readonly CpoLossType[] = ['sigmoid', 'hinge', 'ipo', 'simpo'];

export type CpoConfig = { beta: number; lossType: CpoLossType; labelSmoothing: number; cpoAlpha: number; simpoGamma: number; alpha: number; nllAverage: NllAverage };

const base = { reference: false, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: true };

/** TRL averages the log-probs over tokens for these loss types. */
const averaged = (t: CpoLossType) => t === 'ipo' || t === 'simpo';

/** AlphaPO's reward (1 − e^(−αx))/α; x itself at α = 0. */
function alphaReward(x: Tensor, alpha: number): Tensor {
  return alpha === 0 ? x : mul(sub(1, exp(mul(x, -alpha))), 1 / alpha);
}

export const cpo: PreferenceLoss<CpoConfig> = {
  name: 'cpo',
  description: 'Contrastive Preference Optimization (TRL\'s CPOTrainer): a reference-free sigmoid, hinge, ipo or simpo term plus cpoAlpha × the chosen answers\' NLL; AlphaPO with alpha',
  data: { paired: true, unpaired: false },
  needs: withNllNeeds(base, 'tokens'),
  // The NLL term's needs only while it is on (cpoAlpha > 0); the token counts also for ipo and simpo's averages.
  needsFor: (c) => (c.cpoAlpha !== 0 ? withNllNeeds(base, c.nllAverage) : { ...base, tokenAverage: averaged(c.lossType) }),
  defaults: { beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0, cpoAlpha: 1, simpoGamma: 0.5, alpha: 0, nllAverage: 'tokens' },
  formerDefaults: { nllAverage: 'rows' },
  configHelp: {
    beta: 'β: scale of the policy margin; for ipo the margin target is 1/(2β) (TRL CPOConfig beta)',
    lossType: 'the preference term: sigmoid (CPO), hinge, ipo, simpo (TRL CPOConfig loss_type; its alphapo is simpo with cpoAlpha 0)',
    labelSmoothing: 'ε: chance a label is flipped, in [0, 0.5], for sigmoid and simpo (TRL label_smoothing)',
    cpoAlpha: 'weight of the NLL term on the chosen answers; 0 turns it off (TRL cpo_alpha)',
    simpoGamma: 'γ: the target margin of simpo (TRL simpo_gamma; relpo\'s simpo loss takes γ/β instead)',
    alpha: 'AlphaPO\'s α: the reward (1 − e^(−α·x))/α of the log-prob x; 0 keeps x (TRL CPOConfig alpha)',
    nllAverage: NLL_AVERAGE_HELP,
  },
  choices: { lossType: CPO_LOSS_TYPES, nllAverage: NLL_AVERAGES },
  validate(c) {
    positive('cpo', 'beta', c.beta);
    inRange('cpo', 'labelSmoothing', c.labelSmoothing, 0, 0.5);
    if (!(c.cpoAlpha >= 0)) throw new Error(`loss 'cpo': config key 'cpoAlpha' must be ≥ 0, got ${c.cpoAlpha}`);
  },
  compute(batch, { beta, lossType, labelSmoothing, cpoAlpha, simpoGamma, alpha, nllAverage }) {
    const pc = batch.chosen.policyLogps, pr = batch.rejected.policyLogps;
    const xc = averaged(lossType) ? perToken('cpo', batch, 'chosen', pc) : pc;
    const xr = averaged(lossType) ? perToken('cpo', batch, 'rejected', pr) : pr;
    const rc = alphaReward(xc, alpha), rr = alphaReward(xr, alpha);
    const h = sub(rc, rr);
    let terms: Tensor;
    if (lossType === 'sigmoid') terms = sigmoidLoss(mul(h, beta), labelSmoothing);
    else if (lossType === 'simpo') terms = sigmoidLoss(sub(mul(h, beta), simpoGamma), labelSmoothing);
    else if (lossType === 'hinge') terms = relu(sub(1, mul(h, beta)));
    else terms = square(sub(h, 1 / (2 * beta)));
    let loss = mean(terms);
    const metrics = rewardMetrics(batch, scaled(rc, beta), scaled(rr, beta));
    if (cpoAlpha !== 0) {
      const nll = chosenNll('cpo', batch, nllAverage);
      loss = add(loss, mul(nll, cpoAlpha));
      metrics['nll_loss'] = noGrad(() => mul(nll, 1));
    }
    return { loss, metrics };
  },
};
