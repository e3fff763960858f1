// RPO (Yin et al., 2024, Eq. 14 and Listing 1): every chosen answer contrasted with every rejected
// one, each cell weighted by how related the two prompts are:
// L = mean_ij −logσ(β·W_ij·S_ij), S_ij = sc_i − sr_j.
// diagonalForm 'losses' is the RPO authors' code (trainers.py, RPODiagonalTrainer) instead of Eq. 13:
// the cells' losses ℓ_ij = −logσ(β·S_ij) are weighted, not their scores,
// L = α·mean_i ℓ_ii + (1 − α)·mean_{i≠j} ℓ_ij, i.e. mean_i Σ_j W_ij·ℓ_ij with the diagonal W.
import type { PreferenceBatch, PreferenceLoss } from './types.js';
import type { Tensor } from '../autograd/tensor.js';
import { positive } from './checks.js';
import { logRatios, rewardMetrics, scaled } from './terms.js';
import { checkWeighting, contrastMatrix, contrastWeights, weightMetrics, WEIGHTINGS, WEIGHT_SCALES, type Weighting, type WeightScale } from './rpo/index.js';
import { logSigmoid, mean, mul, neg, sum } from './ops.js';

export type DiagonalForm = 'scores' | 'losses';
export type RpoConfig = { beta: number; tau: number; alpha: number; weighting: Weighting; weightScale: WeightScale; diagonalForm: DiagonalForm };

export const rpo: PreferenceLoss<RpoConfig> = {
  name: 'rpo',
  description: 'Relative Preference Optimization: an M×N contrast matrix across prompts, weighted by prompt similarity',
  data: { paired: true, unpaired: true },
  needs: { reference: true, promptEmbeddings: true, klEstimate: false, tokenAverage: false },
  defaults: { beta: 0.1, tau: 0.5, alpha: 0.8, weighting: 'embedding', weightScale: 'row', diagonalForm: 'scores' },
  configHelp: { beta: 'β: scale of the weighted contrast cells, as DPO\'s (the paper: 0.1)', tau: 'τ: temperature of the prompt-similarity softmax; smaller puts more weight on close prompts (the paper: 0.5 paired, 0.75 unpaired)', alpha: 'α: the diagonal weight of \'diagonal\', in [0, 1]', weighting: 'how cells are weighted: embedding (prompt similarity), uniform, diagonal', weightScale: 'row: rows of W sum to 1 (the paper\'s code); mean: W·N, so β keeps DPO\'s meaning', diagonalForm: 'with weighting diagonal: scores weights S_ij inside σ (the paper\'s Eq. 13); losses weights the cells\' losses (the authors\' RPODiagonalTrainer; α = 1 is DPO)' },
  needsFor: (c) => ({ ...rpo.needs, promptEmbeddings: c.weighting === 'embedding' }),
  choices: { weighting: WEIGHTINGS, weightScale: WEIGHT_SCALES, diagonalForm: ['scores', 'losses'] },
  validate(c) {
    positive('rpo', 'beta', c.beta);
    checkWeighting('rpo', c);
    if (c.diagonalForm === 'losses' && c.weighting !== 'diagonal') {
      throw new Error(`loss 'rpo': config key 'diagonalForm' 'losses' weights the diagonal's losses and needs weighting 'diagonal', got weighting '${c.weighting}'`);
    }
  },
  compute(batch, config) {
    const s = logRatios('rpo', batch);
    if (config.diagonalForm === 'losses') return diagonalLosses(batch, s, config);
    const w = contrastWeights('rpo', batch, config);
    const cells = mul(mul(contrastMatrix(s.chosen, s.rejected), w), config.beta);
    const loss = mean(neg(logSigmoid(cells)));
    const metrics = { ...rewardMetrics(batch, scaled(s.chosen, config.beta), scaled(s.rejected, config.beta)), ...weightMetrics(batch, w) };
    return { loss, metrics };
  },
};

/**
 * The authors' RPODiagonalTrainer: per row α·ℓ_ii + (1 − α)·mean_{j≠i} ℓ_ij, then the mean over rows;
 * one pair (no off-diagonal cell, where the code's mean is empty) is DPO's single loss.
 */
function diagonalLosses(batch: PreferenceBatch, s: { chosen: Tensor; rejected: Tensor }, config: RpoConfig) {
  // W_ii = α, W_ij = (1 − α)/(M − 1), unscaled (weightScale does not apply); refuses unpaired data.
  const rowWeights = contrastWeights('rpo', batch, { ...config, weightScale: 'row' });
  const cellLosses = neg(logSigmoid(mul(contrastMatrix(s.chosen, s.rejected), config.beta)));
  const loss = mul(sum(mul(cellLosses, rowWeights)), 1 / s.chosen.shape[0]);
  const metrics = { ...rewardMetrics(batch, scaled(s.chosen, config.beta), scaled(s.rejected, config.beta)), ...weightMetrics(batch, rowWeights) };
  return { loss, metrics };
}
