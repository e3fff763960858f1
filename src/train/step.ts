// One optimizer step's gradients, as a short sequence of stages (docs/training.md, "One step"):
// plan (step-plan.ts), then either one pass per micro-batch (step-single-pass.ts: the loss of each
// micro-batch, for losses that are a mean over pairs, or with contrastScope 'micro-batch') or two
// passes over the step (step-two-pass.ts: the loss over all the step's rows); the trainer applies
// the result. What both passes share is here.
import { mix32 } from '../kernels/dropout/contract.js';
import type { RegisteredLoss } from '../losses/registry.js';
import type { LossConfig, LossNeeds } from '../losses/types.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { PreferenceDataset } from '../data/jsonl.js';
import type { TokenizeOptions } from '../data/tokenize.js';
import type { ReferenceLogps } from './batch.js';
import type { PromptEmbeddingCache } from './prompt-embeddings.js';
import type { PlannedMicroBatch } from './step-plan.js';

/**
 * Where a loss that couples rows is evaluated under gradient accumulation: over all the rows of
 * the optimizer step ('step': k micro-batches of b rows give the gradient of one batch of k·b) or
 * over each micro-batch on its own ('micro-batch': RPO's contrast matrix stops at b × b).
 */
export type ContrastScope = 'step' | 'micro-batch';
export const CONTRAST_SCOPES: readonly ContrastScope[] = ['step', 'micro-batch'];

/** What every stage of a step reads. */
export interface StepContext {
  policy: CausalLM;
  reference: ReferenceLogps | undefined;
  loss: RegisteredLoss;
  config: LossConfig;
  needs: LossNeeds;
  dtype: 'float32' | 'float64';
  prompts: PromptEmbeddingCache | undefined;
  tokenizer: TextTokenizer;
  dataset: PreferenceDataset;
  tokenize: TokenizeOptions;
  /** The run's seed (dropout masks are set from it, the step and the micro-batch). */
  seed: number;
  /** The error that refuses step `stepNo`: `where` it happened, `what` was not finite, and which records. */
  refuse(stepNo: number, where: string, what: string, records: string): Error;
}

/** A step's gradients are in the parameters' .grad; these are its numbers. */
export interface StepOutcome {
  loss: number;
  /** The loss's metrics over the step (names as the loss gives them). */
  metrics: Record<string, number>;
  /** The total gradient norm before clipping. */
  gradNorm: number;
  /** Tokens in the step's rows (padding excluded), for tokens/s. */
  tokens: number;
  /** Rows of each side one evaluation of the loss saw (the mean over micro-batches in one pass): RPO's matrix is chosen × rejected. */
  lossRows: { chosen: number; rejected: number };
  /** One pass per micro-batch: each metric's sum over the micro-batches run (each value /k) and how many reported it, for summing across ranks. */
  metricSums?: Record<string, { sum: number; count: number }>;
}

/**
 * Whether the step runs two passes: a loss that couples rows, over several micro-batches, in step
 * scope. A loss that is a mean over pairs (on paired data) gives the step's gradient in one pass.
 */
export function usesTwoPasses(scope: ContrastScope, accumulation: number, needs: LossNeeds, paired: boolean): boolean {
  return scope === 'step' && accumulation > 1 && !(paired && needs.meanOverPairs === true);
}

/**
 * The dropout stream's state for micro-batch `micro` of step `stepNo`: a resumed run drops the same
 * elements, and both passes of a step see the same masks. Below 64 micro-batches the key is the
 * one earlier versions used (stepNo·64 + micro); from 64 on it is mixed apart so none collide.
 */
export function dropoutSeedOf(seed: number, stepNo: number, micro: number): number {
  const base = mix32(seed ^ 0x5bd1e995);
  return micro < 64 ? mix32(base ^ (stepNo * 64 + micro)) : mix32(mix32(base ^ 0x27d4eb2f ^ stepNo) ^ mix32(micro));
}
