// f-DPO's scores (Wang et al., 2023, "Beyond Reverse KL", arXiv:2309.16240), as TRL v1.9.0's
// DPOTrainer computes them: each side's log-ratio s = π − ρ goes through f′ of the chosen divergence
// (constants dropped), and the loss types read the scores (or their difference) where DPO reads the
// log-ratios (or Δ = sc − sr). reverse_kl is DPO itself. TRL feeds them to sigmoid, hinge, ipo,
// exo_pair, nca_pair, robust, bco_pair, sppo_hard, discopop, sigmoid_norm and apo_down's margin
// term; each of those relpo losses offers the option through the pieces below.
import type { Tensor } from '../autograd/tensor.js';
import { exp, logSigmoid, maximum, mul, neg } from './ops.js';

export type FDivergence = 'reverse_kl' | 'forward_kl' | 'js_divergence' | 'alpha_divergence';
export const F_DIVERGENCES: readonly FDivergence[] = ['reverse_kl', 'forward_kl', 'js_divergence', 'alpha_divergence'];

export type FDivergenceConfig = { fDivergenceType: FDivergence; fAlphaDivergenceCoef: number };

/** The config keys, their defaults (TRL's) and help lines, for a loss that offers the option. */
export const F_DIVERGENCE_DEFAULTS: FDivergenceConfig = { fDivergenceType: 'reverse_kl', fAlphaDivergenceCoef: 0.5 };
export const F_DIVERGENCE_HELP = {
  fDivergenceType: 'f-DPO\'s divergence: reverse_kl (DPO), forward_kl, js_divergence, alpha_divergence (TRL f_divergence_type)',
  fAlphaDivergenceCoef: 'α of alpha_divergence, scores e^((α−1)s)/(α−1); α = 1 is reverse_kl (TRL f_alpha_divergence_coef)',
};

export const F_DIVERGENCE_CHOICES = { fDivergenceType: F_DIVERGENCES };

/** Both sides' scores f′(s) from their log-ratios. */
export function divergenceScores(s: { chosen: Tensor; rejected: Tensor }, config: FDivergenceConfig): { chosen: Tensor; rejected: Tensor } {
  return { chosen: divergenceScore(s.chosen, config), rejected: divergenceScore(s.rejected, config) };
}

/**
 * f′ of the divergence at u = e^s, as a function of s:
 * reverse_kl: s; forward_kl: −e^(−s); js_divergence: logσ(s) (log(2u/(1+u)) less log 2);
 * alpha_divergence: e^((α−1)s)/(α−1), with TRL's cap of 80 on the exponent, and s itself at α = 1.
 */
export function divergenceScore(s: Tensor, { fDivergenceType, fAlphaDivergenceCoef: a }: FDivergenceConfig): Tensor {
  switch (fDivergenceType) {
    case 'reverse_kl':
      return s;
    case 'forward_kl':
      return neg(exp(neg(s)));
    case 'js_divergence':
      return logSigmoid(s);
    case 'alpha_divergence': {
      if (Math.abs(a - 1) < 1e-6) return s;
      const t = mul(s, a - 1);
      return mul(exp(neg(maximum(neg(t), -80))), 1 / (a - 1)); // e^min(t, 80)
    }
    default:
      throw new Error(`unknown f-divergence '${fDivergenceType as string}' (one of ${F_DIVERGENCES.join(', ')})`);
  }
}
