// Text generation from a CausalLM: greedy or sampled (temperature, top-k, top-p, seeded,
// one random stream per row). Two schedules with the same tokens:
// - cached (default): all rows in one batch, the right-padded prompts run once into a key/value
//   cache (KVCache, written in place), then one token per row per step attending over its row
//   of the cache; a row that finishes leaves the batch;
// - uncached: all rows in one right-padded batch that grows in place; each step runs the model over
//   the whole prefixes (keyPadding = each row's length) with the LM head at each row's last
//   position only (logitsAt), so only [B, vocab] is made and read back. O(length²) work per row.
// Greedy tokens are each row's argmax on the device (B indices read back, not B rows of logits);
// sampled ones are picked on the host (sampling.ts).
import type { Tensor } from '../autograd/tensor.js';
import { tensor } from '../autograd/create.js';
import { noGrad, tidy } from '../autograd/scope.js';
import { mulberry32 } from '../autograd/random.js';
import { reshape } from '../kernels/copy/op.js';
import { argmax } from '../kernels/reduce/op.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { KVCache } from '../models/kv-cache.js';
import { indexSelect } from '../kernels/gather/op.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { pickToken } from './sampling.js';

export { pickToken };

export interface GenerateOptions {
  /** Tokens to add at most per prompt. */
  maxNewTokens: number;
  /** 0 (default): greedy, the argmax. Above 0: sample from softmax(logits / temperature). */
  temperature?: number;
  /** Sample only among the k most likely tokens (0 or absent: all). */
  topK?: number;
  /** Sample only among the most likely tokens whose probabilities add up to topP (1 or absent: all). */
  topP?: number;
  /** Token ids that end a row (default: the tokenizer's EOS, for generateText). The stop token is kept. */
  stopIds?: number[];
  /** Seed of the sampling (default 0): the same seed gives the same text. Each row has its own stream. */
  seed?: number;
  /**
   * One seed per row instead (row b samples as it would alone with seed rowSeeds[b]): a row's text
   * then does not depend on which rows share its batch (resumed or re-batched runs).
   */
  rowSeeds?: number[];
  /**
   * Keep each row's keys and values (default true): every step then runs one token through the
   * model. false: each step recomputes every row's whole prefix, all rows in one batch.
   */
  cache?: boolean;
}

function checkOptions(o: GenerateOptions): void {
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${o.maxNewTokens}`);
  const temperature = o.temperature ?? 0;
  if (!Number.isFinite(temperature) || temperature < 0) throw new Error(`generate: temperature must be ≥ 0, got ${o.temperature}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new Error(`generate: topK must be a non-negative integer, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new Error(`generate: topP must be in (0, 1], got ${o.topP}`);
}

/**
 * Continues each prompt (token ids, e.g. BOS + prompt) by up to maxNewTokens tokens; returns the
 * new tokens of each row (ending with its stop token when one was produced). A row also stops at
 * the model's max_position_embeddings.
 */
export async function generateIds(model: CausalLM, prompts: number[][], options: GenerateOptions): Promise<number[][]> {
  // Generation runs in evaluation mode (no dropout), whatever mode the model was left in.
  return model.inEvalMode(() => generateIdsInEvalMode(model, prompts, options));
}

async function generateIdsInEvalMode(model: CausalLM, prompts: number[][], options: GenerateOptions): Promise<number[][]> {
  checkOptions(options);
  if (prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token (e.g. BOS)');
  // One stream per row, so a row's samples do not depend on the other rows or on the schedule.
  const seed = options.seed ?? 0;
  if (options.rowSeeds && options.rowSeeds.length !== prompts.length) throw new Error(`generate: rowSeeds has ${options.rowSeeds.length} seeds for ${prompts.length} prompts`);
  const stream = (s: number, b: number) => mulberry32((Math.imul(s + 1, 0x9e3779b1) ^ Math.imul(b + 1, 0x85ebca6b)) >>> 0 || 1);
  const streams = prompts.map((_, b) => (options.rowSeeds ? stream(options.rowSeeds[b], 0) : stream(seed, b)));
  return options.cache === false ? generateBatched(model, prompts, options, streams) : generateCached(model, prompts, options, streams);
}

/** Whether a row stops after `next`: a stop token, or the model's last position reached. */
function stops(options: GenerateOptions, next: number, length: number, limit: number): boolean {
  return (options.stopIds ?? []).includes(next) || length >= limit;
}

async function generateCached(model: CausalLM, all: number[][], options: GenerateOptions, allStreams: (() => number)[]): Promise<number[][]> {
  const limit = maxPositions(model);
  // Rows with nothing to add stay out of the batch.
  const rows = all.map((_, b) => b).filter((b) => options.maxNewTokens > 0 && all[b].length < limit);
  const result: number[][] = all.map(() => []);
  if (rows.length === 0) return result;
  const prompts = rows.map((b) => all[b]);
  const streams = rows.map((b) => allStreams[b]);
  const added = rows.map((b) => result[b]);
  const done = rows.map(() => false);
  const device = model.device;
  const T = Math.max(...prompts.map((p) => p.length));
  // Room for every token a row may add (the last one is never fed back, hence − 1).
  const cache = model.newCache(prompts.map((p) => p.length), Math.max(0, Math.min(options.maxNewTokens, limit - T) - 1));
  // live[i]: which row (index into prompts) is row i of the batch now. A row that finishes leaves
  // the batch before the next step (its cache rows dropped), so the batch shrinks as rows end.
  let live = prompts.map((_, b) => b);
  try {
    // Logits [batch, vocab] of each row's last token after running ids [batch, width] through the cache.
    const logitsOf = (ids: Tensor, last?: number[]) => {
      const l = model.forward(ids, { cache, ...(last ? { logitsAt: last.map((n) => n - 1) } : {}) });
      return reshape(l, [ids.shape[0], l.shape[2]]);
    };
    const ids = new Int32Array(prompts.length * T);
    prompts.forEach((p, b) => ids.set(p, b * T));
    const promptIds = () => tensor(ids, [prompts.length, T], { device, dtype: 'int32' });
    if ((options.temperature ?? 0) === 0) {
      const first = noGrad(() => tidy(() => argmax(logitsOf(promptIds(), prompts.map((p) => p.length)))));
      await greedyPipeline(first, { cache, live, prompts, added, done, options, limit, next: (input) => noGrad(() => tidy(() => argmax(logitsOf(reshape(input, [input.shape[0], 1]))))) });
      return result;
    }
    // Sampled: each row's next token drawn on the host from its logits, one step at a time.
    const step = (input: () => Tensor, last?: number[]) => pickTokens(() => logitsOf(input(), last), options, live.map((b) => streams[b]));
    let picked = await step(promptIds, prompts.map((p) => p.length));
    for (;;) {
      for (const [i, b] of live.entries()) {
        const next = picked[i];
        added[b].push(next);
        if (added[b].length >= options.maxNewTokens || stops(options, next, prompts[b].length + added[b].length, limit)) done[b] = true;
      }
      const staying = live.flatMap((b, i) => (done[b] ? [] : [i]));
      if (staying.length === 0) return result;
      if (staying.length < live.length) {
        cache.keepRows(staying);
        live = staying.map((i) => live[i]);
      }
      picked = await step(() => tensor(Int32Array.from(live, (b) => added[b][added[b].length - 1]), [live.length, 1], { device, dtype: 'int32' }));
    }
  } finally {
    cache.dispose();
  }
}

interface GreedyState {
  cache: KVCache;
  /** Rows of the batch (indices into prompts), in batch order. */
  live: number[];
  prompts: number[][];
  added: number[][];
  done: boolean[];
  options: GenerateOptions;
  limit: number;
  /** One decoding step of the cache's rows: their tokens [rows] in, their argmaxes [rows] out. */
  next: (tokens: Tensor) => Tensor;
}

/**
 * Greedy decoding with each step recorded before the previous step's tokens are read back: a
 * step's argmax stays on the device as the next step's input, and its read-back overlaps the
 * recording of the step after, so the device does not wait for the host to pick a token between
 * steps. `pending` holds the tokens of the rows in `live`. Rows that reach their token budget or
 * the model's last position are known in advance and leave before the step is recorded; a row
 * that emits a stop token is known one step late: its token of that step is computed and dropped
 * (the other rows' tokens do not depend on it: every kernel computes each row on its own).
 */
async function greedyPipeline(first: Tensor, s: GreedyState): Promise<void> {
  const { cache, prompts, added, done, options, limit } = s;
  let live = s.live;
  let pending = first;
  let next: Tensor | null = null;
  // Some batch positions of a [rows] token tensor, as a new tensor.
  const rowsOf = (x: Tensor, rows: number[]) => noGrad(() => tidy(() => indexSelect(x, 0, tensor(Int32Array.from(rows), [rows.length], { device: x.device, dtype: 'int32' }))));
  try {
    let reading = pending.data();
    for (;;) {
      // Batch positions whose row may take another token after its pending one (unless it is a stop).
      const more = live.flatMap((b, i) => (added[b].length + 1 < options.maxNewTokens && prompts[b].length + added[b].length + 1 < limit ? [i] : []));
      next = null;
      if (more.length > 0) {
        if (more.length < live.length) cache.keepRows(more);
        const input = more.length < live.length ? rowsOf(pending, more) : pending;
        next = s.next(input);
        if (input !== pending) input.dispose();
      }
      const tokens = await reading;
      pending.dispose();
      for (const [i, b] of live.entries()) {
        added[b].push(tokens[i]);
        if (added[b].length >= options.maxNewTokens || stops(options, tokens[i], prompts[b].length + added[b].length, limit)) done[b] = true;
      }
      if (!next) return;
      const stepped = more.map((i) => live[i]);
      const going = stepped.flatMap((b, j) => (done[b] ? [] : [j]));
      if (going.length === 0) return;
      if (going.length < stepped.length) {
        cache.keepRows(going);
        const kept = rowsOf(next, going);
        next.dispose();
        next = kept;
      }
      live = going.map((j) => stepped[j]);
      pending = next;
      reading = pending.data();
    }
  } finally {
    // Whatever ends the pipeline (the last token, an error), its tensors go (dispose is idempotent).
    pending.dispose();
    next?.dispose();
  }
}

async function generateBatched(model: CausalLM, prompts: number[][], options: GenerateOptions, streams: (() => number)[]): Promise<number[][]> {
  const limit = maxPositions(model);
  const rows = prompts.map((p) => [...p]);
  const added: number[][] = prompts.map(() => []);
  const done = prompts.map((p) => p.length >= limit);
  const device = model.device;
  for (let step = 0; step < options.maxNewTokens && done.some((d) => !d); step++) {
    const B = rows.length;
    const T = Math.max(...rows.map((r) => r.length));
    const ids = new Int32Array(B * T);
    rows.forEach((r, b) => ids.set(r, b * T));
    const picked = await pickTokens(() => {
      const logits = model.forward(tensor(ids, [B, T], { device, dtype: 'int32' }), {
        keyPadding: tensor(Int32Array.from(rows, (r) => r.length), [B], { device, dtype: 'int32' }),
        logitsAt: rows.map((r) => r.length - 1),
      });
      return reshape(logits, [B, logits.shape[2]]); // [B, V]
    }, options, streams, done);
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const next = picked[b];
      rows[b].push(next);
      added[b].push(next);
      if (stops(options, next, rows[b].length, limit)) done[b] = true;
    }
  }
  return added;
}

/**
 * Row b's next token from the logits [B, vocab] that `logits` computes (run under noGrad and tidy):
 * greedy decoding takes each row's argmax on the device and reads back B indices, not B rows of
 * logits (the same tokens: the argmax kernel orders logits as pickToken's greedy choice does);
 * sampling reads the logits and draws from row b's stream. Rows marked in `skip` draw nothing.
 */
async function pickTokens(logits: () => Tensor, options: GenerateOptions, streams: (() => number)[], skip?: boolean[]): Promise<number[]> {
  const greedy = (options.temperature ?? 0) === 0;
  const out = noGrad(() => tidy(() => (greedy ? argmax(logits()) : logits())));
  const values = await out.data();
  const [B, V] = [out.shape[0], greedy ? 1 : out.shape[1]];
  out.dispose();
  if (greedy) return Array.from(values);
  return Array.from({ length: B }, (_, b) => (skip?.[b] ? -1 : pickToken(values.subarray(b * V, (b + 1) * V), options, streams[b])));
}

/**
 * Continues each text prompt: encoded as training encodes prompts (BOS when the tokenizer adds
 * one), stopped at EOS, decoded without special tokens.
 */
export async function generateText(model: CausalLM, tokenizer: TextTokenizer, prompts: string[], options: GenerateOptions): Promise<string[]> {
  const ids = await Promise.all(
    prompts.map(async (p) => {
      const t = await tokenizer.encode(p);
      return tokenizer.addBos && t[0] !== tokenizer.bosId ? [tokenizer.bosId as number, ...t] : t;
    }),
  );
  const stopIds = options.stopIds ?? (tokenizer.eosId !== undefined ? [tokenizer.eosId] : []);
  const out = await generateIds(model, ids, { ...options, stopIds });
  return Promise.all(out.map((o) => tokenizer.decode(o, { skipSpecialTokens: true })));
}

/** The positions the model has (config.json's max_position_embeddings), or Infinity where it does not say. */
function maxPositions(model: CausalLM): number {
  const n = model.config['max_position_embeddings'];
  return typeof n === 'number' && n > 0 ? n : Infinity;
}
