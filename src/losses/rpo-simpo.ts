// RPO's cross-prompt contrast on SimPO's reference-free reward (Yin et al., 2024, Appendix C):
// r = β·π/n, L = mean_ij −logσ(W_ij·(rc_i − rr_j − γ)), γ = gammaBetaRatio·β. The weights default
// to weightScale 'mean' (average cell weight 1), so uniform weights give SimPO over all M×N pairs.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { perToken, rewardMetrics, scaled } from './terms.js';
import { checkWeighting, contrastMatrix, contrastWeights, weightMetrics, WEIGHTINGS, WEIGHT_SCALES, type Weighting, type WeightScale } from './rpo/index.js';
import { logSigmoid, mean, mul, neg, sub } from './ops.js';

export type RpoSimpoConfig = {
  beta: number; gammaBetaRatio: number; tau: number; alpha: number; weighting: Weighting; weightScale: WeightScale;
};

export const rpoSimpo: PreferenceLoss<RpoSimpoConfig> = {
  name: 'rpo_simpo',
  description: 'RPO with SimPO\'s reference-free, length-normalised reward and margin γ',
  data: { paired: true, unpaired: true },
  needs: { reference: false, promptEmbeddings: true, klEstimate: false, tokenAverage: true },
  defaults: { beta: 10, gammaBetaRatio: 0.3, tau: 0.5, alpha: 0.8, weighting: 'embedding', weightScale: 'mean' },
  configHelp: { beta: 'β: scale of the length-normalised margins (SimPO\'s)', gammaBetaRatio: 'γ/β: the target margin over β (SimPO\'s gamma_beta_ratio)', tau: 'τ: temperature of the prompt-similarity softmax (\'embedding\')', alpha: 'α: the diagonal weight of \'diagonal\', in [0, 1]', weighting: 'how cells are weighted: embedding (prompt similarity), uniform, diagonal', weightScale: 'row: rows of W sum to 1; mean: W·N, mean cell weight 1' },
  needsFor: (c) => ({ ...rpoSimpo.needs, promptEmbeddings: c.weighting === 'embedding' }),
  choices: { weighting: WEIGHTINGS, weightScale: WEIGHT_SCALES },
  validate(c) {
    positive('rpo_simpo', 'beta', c.beta);
    checkWeighting('rpo_simpo', c);
  },
  compute(batch, config) {
    const { beta } = config;
    const ac = perToken('rpo_simpo', batch, 'chosen', batch.chosen.policyLogps);
    const ar = perToken('rpo_simpo', batch, 'rejected', batch.rejected.policyLogps);
    const w = contrastWeights('rpo_simpo', batch, config);
    const margins = sub(mul(contrastMatrix(ac, ar), beta), config.gammaBetaRatio * beta);
    const loss = mean(neg(logSigmoid(mul(w, margins))));
    const metrics = { ...rewardMetrics(batch, scaled(ac, beta), scaled(ar, beta)), ...weightMetrics(batch, w) };
    return { loss, metrics };
  },
};
