// The policy's completions for a dataset's prompts, for judging: each distinct prompt once (in file
// order), beside the dataset's own preferred answer for it (the paper's win rates compare against
// the test set's chosen responses). Under several ranks the batches are dealt out in rounds, one
// per rank, and every rank gets each round's records in prompt order.
import { type PreferenceDataset, type PreferenceText, recordLocation } from '../data/jsonl.js';
import { recordTexts } from '../data/tokenize.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { Communicator } from '../distributed/index.js';
import { allGatherJson, together } from '../train/data-parallel.js';
import { type GenerateOptions, generateIds } from './generate.js';

export interface CompletionRecord {
  /** The prompt's id in the dataset (its index among the distinct prompts). */
  id: number;
  prompt: PreferenceText;
  completion: string;
  /** The dataset's preferred answer to the prompt (chosen; for unpaired data, a desirable one), or null. */
  reference: string | null;
}

export interface DatasetCompletionOptions extends Omit<GenerateOptions, 'stopIds'> {
  /** The first `limit` distinct prompts (default: all; the paper judges 256). */
  limit?: number;
  /** Prompts generated together (one batch through the key/value cache) and handed to onBatch, the unit a resumed run saves (default 8). */
  batchSize?: number;
  /** Prompt tokens kept at most, the last ones (default 256, the paper's). */
  maxPromptLength?: number;
  /** Prompt ids already done (a resumed run): skipped. */
  skip?: Set<number>;
  /** Called after each batch with its records (to append them to a file, or move a progress bar). */
  onBatch?: (records: CompletionRecord[]) => void | Promise<void>;
  /**
   * Several ranks: rank r generates batches r, r + N, r + 2N, …; after each round of N batches
   * every rank gets the round's records in prompt order (onBatch once per round, with them all).
   */
  communicator?: Communicator;
}

/** A completion as plain text: the assistant turns of a message list, joined. */
export function completionText(c: PreferenceText): string {
  return typeof c === 'string' ? c : c.filter((m) => m.role === 'assistant').map((m) => m.content).join('\n');
}

/** The dataset's preferred answer to each prompt id (the first chosen, or desirable, one). */
export function referenceAnswers(dataset: PreferenceDataset): (string | null)[] {
  const refs: (string | null)[] = dataset.prompts.map(() => null);
  for (const r of dataset.records) {
    if (refs[r.promptId] !== null) continue;
    if ('chosen' in r) refs[r.promptId] = completionText(r.chosen);
    else if (r.label) refs[r.promptId] = completionText(r.completion);
  }
  return refs;
}

/**
 * A prompt as generation reads it: its text (chat template applied to conversations), BOS in front
 * where the tokenizer adds one, at most maxPrompt tokens, the last ones (the last turn is what the
 * answer follows).
 */
export async function promptTokenIds(tokenizer: TextTokenizer, prompt: PreferenceText, maxPrompt: number, where: string): Promise<number[]> {
  const t = await tokenizer.encode(recordTexts(tokenizer, prompt, [], where).prompt);
  const body = tokenizer.addBos && t[0] === tokenizer.bosId ? t.slice(1) : t;
  const bos = tokenizer.addBos && tokenizer.bosId !== undefined ? [tokenizer.bosId] : [];
  return [...bos, ...body.slice(Math.max(0, body.length - (maxPrompt - bos.length)))];
}

export async function generateDatasetCompletions(model: CausalLM, tokenizer: TextTokenizer, dataset: PreferenceDataset, o: DatasetCompletionOptions): Promise<CompletionRecord[]> {
  const batchSize = o.batchSize ?? 8, maxPrompt = o.maxPromptLength ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`completions: batchSize must be a positive integer, got ${o.batchSize}`);
  if (!Number.isInteger(maxPrompt) || maxPrompt < 1) throw new Error(`completions: maxPromptLength must be a positive integer, got ${o.maxPromptLength}`);
  const refs = referenceAnswers(dataset);
  const whereOf = new Map<number, string>();
  for (const r of dataset.records) if (!whereOf.has(r.promptId)) whereOf.set(r.promptId, recordLocation(dataset, r));
  const ids = dataset.prompts.map((_, id) => id).slice(0, o.limit ?? dataset.prompts.length).filter((id) => !o.skip?.has(id));
  const stopIds = tokenizer.eosId !== undefined ? [tokenizer.eosId] : [];
  const batches: number[][] = [];
  for (let b = 0; b < ids.length; b += batchSize) batches.push(ids.slice(b, b + batchSize));
  const generateBatch = async (batch: number[]): Promise<CompletionRecord[]> => {
    const promptIds = await Promise.all(batch.map((id) => promptTokenIds(tokenizer, dataset.prompts[id], maxPrompt, whereOf.get(id)!)));
    // One batch through the key/value cache; each row's stream is seeded by its prompt id, so a
    // resumed, re-batched or sharded run samples the same.
    const generated = await generateIds(model, promptIds, { ...o, stopIds, rowSeeds: batch.map((id) => (o.seed ?? 0) + id) });
    const texts = await Promise.all(generated.map((g) => tokenizer.decode(g, { skipSpecialTokens: true })));
    return batch.map((id, i) => ({ id, prompt: dataset.prompts[id], completion: texts[i], reference: refs[id] }));
  };
  const comm = o.communicator;
  const out: CompletionRecord[] = [];
  if (!comm || comm.size === 1) {
    for (const batch of batches) {
      const records = await generateBatch(batch);
      out.push(...records);
      await o.onBatch?.(records);
    }
    return out;
  }
  for (let round = 0; round < batches.length; round += comm.size) {
    const mine = batches[round + comm.rank];
    const records = await together(comm, `in round ${round / comm.size + 1}`, async () => (mine ? generateBatch(mine) : []), 'completions');
    const all = allGatherJson(comm, records).flat();
    out.push(...all);
    await o.onBatch?.(all);
  }
  return out;
}
