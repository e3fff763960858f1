export { contrastMatrix } from './contrast.js';
export {
  checkWeighting, contrastWeights, embeddingWeights, uniformWeights, diagonalWeights, scaleWeights, cosineSimilarity,
  WEIGHTINGS, WEIGHT_SCALES, type Weighting, type WeightScale, type WeightingConfig,
} from './weights.js';
export { weightMetrics } from './metrics.js';
