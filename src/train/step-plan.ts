// The first stage of a step: which micro-batches it takes. A step is the next
// gradientAccumulationSteps batches of the data order (across an epoch boundary if need be); the
// position in the data is committed only once the step has been applied.
import type { IndexBatch } from '../data/batches.js';
import { type PreferenceDataset, recordLocation } from '../data/jsonl.js';

/** A position in the data stream: the epoch of the next batch and its index in that epoch's plan. */
export interface DataCursor {
  epoch: number;
  batchInEpoch: number;
}

/** One micro-batch of a step, with where it sits in the data (for error messages). */
export interface PlannedMicroBatch extends DataCursor {
  index: IndexBatch;
}

export interface StepPlan {
  micro: PlannedMicroBatch[];
  /** The cursor after the step's last micro-batch. */
  next: DataCursor;
}

/** The next `count` micro-batches from `cursor`; `planEpoch` gives an epoch's batches (cached by the caller). */
export function planStep(cursor: DataCursor, count: number, planEpoch: (epoch: number) => IndexBatch[]): StepPlan {
  const micro: PlannedMicroBatch[] = [];
  let at = { ...cursor };
  for (let i = 0; i < count; i++) {
    if (at.batchInEpoch >= planEpoch(at.epoch).length) at = { epoch: at.epoch + 1, batchInEpoch: 0 };
    micro.push({ ...at, index: planEpoch(at.epoch)[at.batchInEpoch] });
    at = { ...at, batchInEpoch: at.batchInEpoch + 1 };
  }
  return { micro, next: at };
}

/**
 * The step's rows as one batch, in the step's row order: every micro-batch's chosen rows in turn,
 * then every micro-batch's rejected rows. It is the IndexBatch one batch of the same records
 * would have (for paired data and for the stratified unpaired plan alike), so a loss over the step
 * sees the rows a single batch of k·b would.
 */
export function mergeIndexBatches(batches: IndexBatch[]): IndexBatch {
  const chosen = batches.flatMap((b) => b.chosen);
  const rejected = batches.flatMap((b) => b.rejected);
  const paired = batches[0].paired;
  return {
    paired,
    indices: paired ? chosen : [...chosen, ...rejected],
    chosen, rejected, m: chosen.length, n: rejected.length,
    chosenPromptIds: batches.flatMap((b) => b.chosenPromptIds),
    rejectedPromptIds: batches.flatMap((b) => b.rejectedPromptIds),
  };
}

/** "file:line, file:line, …" of some records. */
export function recordsAt(dataset: PreferenceDataset, indices: number[]): string {
  return indices.map((i) => recordLocation(dataset, dataset.records[i])).join(', ');
}

/** Where a micro-batch sits, for messages: "epoch 0, batch 2, micro-batch 1 of 4". */
export function whereIs(m: PlannedMicroBatch, i: number, count: number): string {
  return `epoch ${m.epoch}, batch ${m.batchInEpoch}${count > 1 ? `, micro-batch ${i + 1} of ${count}` : ''}`;
}
