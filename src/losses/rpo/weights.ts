// RPO's weighting strategies (Yin et al., 2024, §3.2, Eq. 10-13): how much each cell (i, j) of the
// contrast matrix counts. All return W of shape [M, N], computed without gradient: the weights are
// a function of the prompts, not of the policy.
import type { Tensor } from '../../autograd/tensor.js';
import type { PreferenceBatch } from '../types.js';
import { inRange, lossesThat, positive, requireEmbeddings } from '../checks.js';
import { div, full, matmul, maximum, mul, noGrad, softmax, sqrt, sub, sum, tensor, tidy } from '../ops.js';

export type Weighting = 'embedding' | 'uniform' | 'diagonal';
export type WeightScale = 'row' | 'mean';
export const WEIGHTINGS: readonly Weighting[] = ['embedding', 'uniform', 'diagonal'];
export const WEIGHT_SCALES: readonly WeightScale[] = ['row', 'mean'];

export interface WeightingConfig {
  weighting: Weighting;
  weightScale: WeightScale;
  /** Temperature of the embedding weights. */
  tau: number;
  /** Diagonal weight of the diagonal strategy. */
  alpha: number;
}

/** Rows scaled to unit length, as torch.nn.functional.normalize (norms clamped at 1e-12). */
function normalizeRows(e: Tensor): Tensor {
  return div(e, maximum(sqrt(sum(mul(e, e), 1, true)), 1e-12));
}

/** cos_ij = ⟨a_i, b_j⟩ / (|a_i|·|b_j|), shape [M, N]. */
export function cosineSimilarity(a: Tensor, b: Tensor): Tensor {
  const an = normalizeRows(a), bn = normalizeRows(b);
  return matmul(an, bn, { transposeB: true });
}

/**
 * W_ij = softmax_j(−(1 − cos_ij)/τ) (Eq. 10-11 with the cosine distance 1 − cos of the paper's Listing 1): each chosen answer
 * spreads a unit of weight over the rejected answers, more to those whose prompts are close to its
 * own. Smaller τ sharpens the weights towards same-prompt cells; τ → ∞ gives the uniform 1/N.
 */
export function embeddingWeights(chosenEmbeddings: Tensor, rejectedEmbeddings: Tensor, tau: number): Tensor {
  return tidy(() => noGrad(() => softmax(div(sub(cosineSimilarity(chosenEmbeddings, rejectedEmbeddings), 1), tau), 1)));
}

/** W_ij = 1/N (the paper's uniform weighting, the τ → ∞ limit). */
export function uniformWeights(M: number, N: number, like: Tensor): Tensor {
  return full([M, N], 1 / N, { dtype: like.dtype, device: like.device });
}

/**
 * Paired data: W_ii = α, W_ij = (1 − α)/(M − 1) off the diagonal, so each row sums to 1 and α
 * says how much of it stays on the answer's own prompt. With M = 1 the one cell takes the whole
 * row (W = 1), so one pair is DPO whatever α is.
 */
export function diagonalWeights(M: number, alpha: number, like: Tensor): Tensor {
  const off = M > 1 ? (1 - alpha) / (M - 1) : 0;
  const v = new Array<number>(M * M).fill(off);
  for (let i = 0; i < M; i++) v[i * M + i] = M > 1 ? alpha : 1;
  return tensor(v, [M, M], { dtype: like.dtype, device: like.device });
}

/**
 * 'row': rows sum to 1, as in the paper's code (the loss is then DPO's scale divided by N).
 * 'mean': W·N, so the average cell weight is 1 and β keeps DPO's meaning.
 */
export function scaleWeights(w: Tensor, scale: WeightScale): Tensor {
  return scale === 'row' ? w : noGrad(() => mul(w, w.shape[1]));
}

/** Range checks of the weighting keys, for every loss built on the contrast matrix (rpo, rpo_simpo). */
export function checkWeighting(lossName: string, c: WeightingConfig): void {
  positive(lossName, 'tau', c.tau);
  inRange(lossName, 'alpha', c.alpha, 0, 1);
}

/** W for a batch under a loss's weighting config; refuses combinations the data cannot support. */
export function contrastWeights(lossName: string, batch: PreferenceBatch, c: WeightingConfig): Tensor {
  const M = batch.chosen.policyLogps.shape[0], N = batch.rejected.policyLogps.shape[0];
  const like = batch.chosen.policyLogps;
  let w: Tensor;
  switch (c.weighting) {
    case 'embedding': {
      const why = "weighting 'embedding'; use weighting 'uniform' to train without prompt embeddings";
      const ec = requireEmbeddings(lossName, batch, 'chosen', why);
      // Paired rows share their prompt, so the rejected side's embeddings are the chosen side's.
      const er = batch.paired ? ec : requireEmbeddings(lossName, batch, 'rejected', why);
      w = embeddingWeights(ec, er, c.tau);
      break;
    }
    case 'uniform':
      w = uniformWeights(M, N, like);
      break;
    case 'diagonal':
      if (!batch.paired) {
        throw new Error(
          `loss '${lossName}': weighting 'diagonal' needs paired data (it weights each chosen answer's own rejected answer); ` +
            `for unpaired data use weighting 'embedding' or 'uniform'. Losses that accept unpaired data: ${lossesThat((l) => l.data.unpaired)}`,
        );
      }
      w = diagonalWeights(M, c.alpha, like);
      break;
    default:
      throw new Error(`loss '${lossName}': unknown weighting '${c.weighting as string}' (one of ${WEIGHTINGS.join(', ')})`);
  }
  return scaleWeights(w, c.weightScale);
}
