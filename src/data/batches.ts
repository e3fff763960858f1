// Index batching and train/eval splitting for preference datasets (docs/data.md). Batches are
// lists of record indices; tokenization and padding happen later, per batch.
import { mulberry32 } from '../autograd/random.js';
import type { PreferenceDataset } from './jsonl.js';

export interface PreferenceBatchOptions {
  /** Rows per batch (paired: pairs; unpaired: desirable + undesirable rows together). */
  batchSize: number;
  /** Shuffle the order (default true). With false, file order. */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0); the same seed and epoch give the same batches. */
  seed?: number;
  /** Epoch number, mixed into the seed so each epoch has its own order (default 0). */
  epoch?: number;
  /** Drop the last, short batch (default false: every record is in exactly one batch). */
  dropLast?: boolean;
  /**
   * Unpaired data: allow a batch with rows on one side only (default false: such a batch is an
   * error). For micro-batches whose step, not each of them, must hold both sides: the caller checks.
   */
  oneSided?: boolean;
}

export interface IndexBatch {
  paired: boolean;
  /** All record indices of the batch: paired, the pairs; unpaired, chosen then rejected. */
  indices: number[];
  /** Records of the chosen side: paired, = indices; unpaired, the desirable (label true) rows. */
  chosen: number[];
  /** Records of the rejected side: paired, = indices; unpaired, the undesirable rows. */
  rejected: number[];
  /** Rows on the chosen side (M) and on the rejected side (N); paired, M == N. */
  m: number;
  n: number;
  /** Prompt id of each chosen / rejected row. */
  chosenPromptIds: number[];
  rejectedPromptIds: number[];
}

/** A deterministic Fisher–Yates shuffle with its own mulberry32 stream. */
export function shuffledIndices(count: number, seed: number): number[] {
  const out = Array.from({ length: count }, (_, i) => i);
  const rand = mulberry32(seed >>> 0);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

const mixSeed = (seed: number, epoch: number): number => (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`preferenceBatches: batchSize must be a positive integer, got ${batchSize}`);
}

/**
 * Plans the batches of one epoch, then yields them. Paired data: the records, shuffled, cut into
 * batches of batchSize. Unpaired data is stratified: desirable and undesirable rows are shuffled
 * separately and each batch gets a share of each in proportion to the whole (largest-remainder
 * rounding on the running row count), so a batch of s rows has at least ⌊s·D/T⌋ desirable and
 * ⌊s·U/T⌋ undesirable rows. A batch that would still lack one side throws (use a larger batch),
 * and a short last batch lacking one side is merged into the batch before it; with oneSided, both
 * are kept as they are (a step of several micro-batches checks its own sides).
 */
export function* preferenceBatches(dataset: PreferenceDataset, options: PreferenceBatchOptions): Generator<IndexBatch> {
  yield* planPreferenceBatches(dataset, options);
}

/** The batches of one epoch as an array (what preferenceBatches yields). */
export function planPreferenceBatches(dataset: PreferenceDataset, options: PreferenceBatchOptions): IndexBatch[] {
  const { batchSize, shuffle = true, seed = 0, epoch = 0, dropLast = false, oneSided = false } = options;
  checkBatchSize(batchSize);
  const ids = dataset.promptIds;
  const total = dataset.records.length;
  const order = (indices: number[], salt: number): number[] => {
    if (!shuffle) return indices;
    const perm = shuffledIndices(indices.length, mixSeed(seed, epoch) ^ salt);
    return perm.map((p) => indices[p]);
  };
  const batches: IndexBatch[] = [];
  if (dataset.paired) {
    const all = order(Array.from({ length: total }, (_, i) => i), 0);
    for (let s = 0; s < total; s += batchSize) {
      const idx = all.slice(s, s + batchSize);
      if (dropLast && idx.length < batchSize) break;
      const pids = idx.map((i) => ids[i]);
      batches.push({ paired: true, indices: idx, chosen: idx, rejected: idx, m: idx.length, n: idx.length, chosenPromptIds: pids, rejectedPromptIds: pids });
    }
    return batches;
  }
  const desirable: number[] = [];
  const undesirable: number[] = [];
  dataset.records.forEach((r, i) => (r.label ? desirable : undesirable).push(i));
  const good = order(desirable, 0x5bd1e995);
  const bad = order(undesirable, 0x1b873593);
  if (good.length === 0 || bad.length === 0)
    throw new Error(`preferenceBatches: ${dataset.path} has no ${good.length === 0 ? 'desirable (label true)' : 'undesirable (label false)'} rows; unpaired batches need both`);
  const numBatches = dropLast ? Math.floor(total / batchSize) : Math.ceil(total / batchSize);
  const used = dropLast ? numBatches * batchSize : total;
  // How many desirable rows the used rows hold, in proportion (all of them when nothing is dropped).
  const usedGood = Math.min(good.length, Math.max(used - bad.length, Math.round((good.length * used) / total)));
  const sizes: number[] = [];
  for (let b = 0; b < numBatches; b++) sizes.push(Math.min(batchSize, used - b * batchSize));
  const plan: { g: number; u: number }[] = [];
  let cum = 0;
  for (const s of sizes) {
    const g = Math.floor((usedGood * (cum + s)) / used) - Math.floor((usedGood * cum) / used);
    plan.push({ g, u: s - g });
    cum += s;
  }
  const last = plan.length - 1;
  if (!oneSided && last > 0 && sizes[last] < batchSize && (plan[last].g === 0 || plan[last].u === 0)) {
    plan[last - 1].g += plan[last].g;
    plan[last - 1].u += plan[last].u;
    plan.pop();
  }
  plan.forEach((p, b) => {
    if (!oneSided && (p.g === 0 || p.u === 0))
      throw new Error(
        `preferenceBatches: batch ${b} of ${dataset.path} would have no ${p.g === 0 ? 'desirable' : 'undesirable'} rows ` +
          `(${good.length} desirable, ${bad.length} undesirable of ${total}); use batchSize ≥ ${Math.ceil(total / Math.min(good.length, bad.length))}`,
      );
  });
  let gi = 0, ui = 0;
  for (const p of plan) {
    const chosen = good.slice(gi, gi + p.g);
    const rejected = bad.slice(ui, ui + p.u);
    gi += p.g;
    ui += p.u;
    batches.push({
      paired: false, indices: [...chosen, ...rejected], chosen, rejected, m: chosen.length, n: rejected.length,
      chosenPromptIds: chosen.map((i) => ids[i]), rejectedPromptIds: rejected.map((i) => ids[i]),
    });
  }
  return batches;
}

export interface SplitOptions {
  /** Keep all records of one prompt on the same side (default true), so eval prompts are unseen. */
  groupByPrompt?: boolean;
}

/**
 * Splits a dataset into train and eval, deterministically for a seed. The eval target is
 * round(evalFraction·T) records, at least 1 and at most T−1 when 0 < evalFraction < 1 and T ≥ 2.
 * Without grouping, exactly the target goes to eval. With groupByPrompt (default), whole prompt
 * groups are taken in shuffled order until the target is reached, so eval may exceed it by less
 * than one group, but never takes every record. Both halves keep file order, line numbers, and
 * the original prompt ids and prompt table.
 */
export function splitTrainEval<D extends PreferenceDataset>(dataset: D, evalFraction: number, seed = 0, options: SplitOptions = {}): { train: D; eval: D } {
  if (!(evalFraction >= 0 && evalFraction < 1)) throw new Error(`splitTrainEval: evalFraction must be in [0, 1), got ${evalFraction}`);
  const total = dataset.records.length;
  let target = Math.round(evalFraction * total);
  if (evalFraction > 0 && total >= 2) target = Math.min(total - 1, Math.max(1, target));
  const inEval = new Uint8Array(total);
  if (options.groupByPrompt ?? true) {
    const groups = new Map<number, number[]>();
    dataset.promptIds.forEach((p, i) => {
      let g = groups.get(p);
      if (!g) groups.set(p, (g = []));
      g.push(i);
    });
    const keys = [...groups.keys()];
    const perm = shuffledIndices(keys.length, mixSeed(seed, -1));
    let count = 0;
    for (const k of perm) {
      if (count >= target) break;
      const g = groups.get(keys[k])!;
      if (count + g.length >= total) continue;
      for (const i of g) inEval[i] = 1;
      count += g.length;
    }
  } else {
    const perm = shuffledIndices(total, mixSeed(seed, -1));
    for (let k = 0; k < target; k++) inEval[perm[k]] = 1;
  }
  const pick = (want: number): D => {
    const keep: number[] = [];
    for (let i = 0; i < total; i++) if (inEval[i] === want) keep.push(i);
    return {
      ...dataset,
      records: keep.map((i) => dataset.records[i]),
      promptIds: keep.map((i) => dataset.promptIds[i]),
      warnings: [...dataset.warnings],
    } as D;
  };
  return { train: pick(0), eval: pick(1) };
}
