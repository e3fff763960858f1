// Preference training: trainPreference (the loop, metrics, checkpoints, resume) and its pieces.
export { trainPreference, type TrainPreferenceOptions, type TrainPreferenceResult, type StepMetrics, type EvalMetrics } from './trainer.js';
export type { PromptEmbedder } from './prompt-embeddings.js';
export { sideLogps, referenceLogps, meanPromptEmbeddings, tokenCounts } from './sequence-logps.js';
export { referenceOf, type ReferenceLogps } from './batch.js';
export {
  saveTrainingCheckpoint, findCheckpoint, readTrainerState, loadPolicyWeights, loadOptimizer, makeOptimizer,
  TrainerAdamW, TrainerRMSprop, type TrainerOptimizer, type TrainerState, type OptimizerName,
} from './checkpoint.js';
export { lrFactor, warmupStepsOf, checkLrScheduler, LR_SCHEDULER_TYPES, type LrSchedule, type LrSchedulerType } from './schedule.js';
export { CONTRAST_SCOPES, type ContrastScope, type StepContext, type StepOutcome, usesTwoPasses } from './step.js';
export { planStep, mergeIndexBatches, type StepPlan, type PlannedMicroBatch, type DataCursor } from './step-plan.js';
export { singlePassStep } from './step-single-pass.js';
export { twoPassStep, tokenizeStep, scoreMicroBatch, lossOverStep, backpropagate, type MicroBatchRows } from './step-two-pass.js';
export { gatherStepRows, stepBatch, type RowScalars, type SideScalars } from './step-rows.js';
export { evaluatePreference, type EvaluatePreferenceOptions, type PreferenceRunOptions } from './evaluate.js';
export { trainOnFeedback, completionLogprobs, FEEDBACK_LORA_TARGETS, type FeedbackRecord, type TrainOnFeedbackOptions } from './feedback.js';
