// Preference losses: the PreferenceLoss contract, the registry (with every built-in loss
// registered), config resolution, mixing, and the pieces a plugin is built from.
import './builtins.js';

export type { PreferenceLoss, PreferenceBatch, PreferenceSide, LossOutput, LossNeeds, LossConfig, ConfigValue } from './types.js';
export { registerLoss, getLoss, listLosses, unregisterLoss, type RegisteredLoss } from './registry.js';
export { resolveConfig, configFromText, camelKey, nearestName } from './config.js';
export { TRL_LOSS_TYPES, TRL_TRAINERS, lossOfTrlType, trlTypesOf, type TrlLossType, type TrlTrainer } from './trl-names.js';
export { mixLosses, type MixTerm, type MixedLoss } from './mix.js';
export { builtinLosses } from './builtins.js';
export { logRatios, perToken, sigmoidLoss, rewardMetrics } from './terms.js';
export { DPO_OPTION_DEFAULTS, DPO_OPTION_HELP, DPO_OPTION_CHOICES, dpoOptionNeeds, validateDpoOptions, withWpoWeights, type DpoOptions } from './dpo-options.js';
export { divergenceScores, type FDivergence, type FDivergenceConfig } from './f-divergence.js';
export { pairMean } from './wpo.js';
export { requireReference, requireTokenCounts, requireEmbeddings, requireKl, lossesThat, lossNeeds, configChecks, unweightedChosenLogps } from './checks.js';
export {
  contrastMatrix, contrastWeights, embeddingWeights, uniformWeights, diagonalWeights, scaleWeights, cosineSimilarity,
  weightMetrics, type Weighting, type WeightScale, type WeightingConfig,
} from './rpo/index.js';
