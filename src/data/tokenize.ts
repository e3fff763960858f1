// Tokenizing preference records into model-ready tensors (docs/data.md, "Tokenization").
// Prompt and completion are tokenized separately and concatenated, as TRL does, so the boundary
// between them is exact: row = [BOS] + prompt tokens + completion tokens + [EOS], right-padded.
import type { Tensor } from '../autograd/tensor.js';
import type { Device } from '../autograd/device.js';
import { tensor } from '../autograd/create.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { IndexBatch } from './batches.js';
import { type PreferenceDataset, type PreferenceText, type UnpairedRecord, recordLocation } from './jsonl.js';

export interface TokenizeOptions {
  /**
   * Longest row (BOS + prompt + completion + EOS), at least 2. A longer row is cut: first the
   * prompt, from the left (its oldest tokens go; BOS stays), then the completion, from the right
   * (so a cut completion loses its EOS). For a pair the prompt cut is decided with the longer
   * completion, so chosen and rejected keep the same prompt tokens. Default: no limit.
   */
  maxLength?: number;
  /** Most prompt tokens, BOS included; the prompt is cut from the left (BOS stays). Applied before maxLength. */
  maxPromptLength?: number;
  /** Append EOS to each completion (default true; needs an EOS token). */
  addEos?: boolean;
  /** Start each row with BOS (default: the tokenizer's addBos, from add_bos_token). */
  addBos?: boolean;
  /** Pad every row to at least this length (e.g. the same T for several calls). */
  padTo?: number;
  /** Device of the tensors (default: the one chosen by init()). */
  device?: Device;
}

/** One side (chosen or rejected) of a batch, as tensors plus the host-side token lists. */
export interface TokenizedRows {
  /** int32 [B, T]: BOS + prompt + completion (+ EOS), right-padded with padId. */
  ids: Tensor;
  /** int32 [B, T]: targets[b, t] = ids[b, t+1]; the last column and padding are padId. */
  targets: Tensor;
  /** float32 [B, T]: 1 where targets[b, t] is a completion token, else 0 (tokenLogprobs' mask). */
  completionMask: Tensor;
  /** int32 [B]: unpadded row lengths. */
  lengths: Tensor;
  /** float32 [B]: completion tokens scored per row (= Σ_t completionMask[b, t]). */
  tokenCounts: Tensor;
  /** Host copies: the unpadded rows, and how many leading tokens of each are prompt (BOS included). */
  rows: number[][];
  promptLengths: number[];
  /** Whether each row was cut by maxLength or maxPromptLength. */
  truncated: boolean[];
  /**
   * Host [B·T]: per-token weights that replace completionMask in the sequence log-probs (LD-DPO's
   * verbose part, set by desensitizeLengths); absent: every completion token weighs 1.
   */
  completionWeights?: Float64Array;
  /** T, and the id used for padding. */
  length: number;
  padId: number;
}

/** A batch of a preference dataset, both sides tokenized and padded to the same T. */
export interface TokenizedPreferenceBatch {
  paired: boolean;
  chosen: TokenizedRows;
  rejected: TokenizedRows;
  /** Rows per side (paired: m == n). */
  m: number;
  n: number;
  chosenPromptIds: number[];
  rejectedPromptIds: number[];
}

/** A prompt and its completions (1 for a row, 2 for a pair that shares the prompt cut). */
interface Group {
  prompt: string;
  completions: string[];
}

function checkOptions(o: TokenizeOptions): void {
  if (o.maxLength !== undefined && (!Number.isInteger(o.maxLength) || o.maxLength < 2))
    throw new Error(`tokenize: maxLength must be an integer ≥ 2, got ${o.maxLength}`);
  if (o.maxPromptLength !== undefined && (!Number.isInteger(o.maxPromptLength) || o.maxPromptLength < 0))
    throw new Error(`tokenize: maxPromptLength must be a non-negative integer, got ${o.maxPromptLength}`);
  if (o.padTo !== undefined && (!Number.isInteger(o.padTo) || o.padTo < 1))
    throw new Error(`tokenize: padTo must be a positive integer, got ${o.padTo}`);
}

/** Host-side rows of one group after the truncation rules; see TokenizeOptions.maxLength. */
export interface TokenizedGroup {
  /** The prompt part: [BOS] + prompt tokens, after truncation. */
  prompt: number[];
  /** Each completion's tokens (+ EOS), after truncation. */
  completions: number[][];
  truncated: boolean[];
}

async function tokenizeGroup(tok: TextTokenizer, g: Group, o: TokenizeOptions): Promise<TokenizedGroup> {
  const addBos = o.addBos ?? tok.addBos;
  const addEos = o.addEos ?? true;
  if (addBos && tok.bosId === undefined) throw new Error(`tokenize: addBos is set but ${tok.path} has no BOS token`);
  if (addEos && tok.eosId === undefined) throw new Error(`tokenize: addEos is set but ${tok.path} has no EOS token (pass addEos: false)`);
  let prompt = await tok.encode(g.prompt);
  // A chat template may already write BOS (and end a turn with EOS) as text, which encodes to the
  // token itself: it is then not added a second time.
  const bos = addBos && prompt[0] !== tok.bosId ? [tok.bosId as number] : [];
  const completions = await Promise.all(
    g.completions.map(async (c) => {
      const ids = await tok.encode(c);
      return addEos && ids[ids.length - 1] !== tok.eosId ? [...ids, tok.eosId as number] : ids;
    }),
  );
  let promptCut = false;
  if (o.maxPromptLength !== undefined) {
    const keep = Math.max(0, o.maxPromptLength - bos.length);
    if (prompt.length > keep) {
      prompt = prompt.slice(prompt.length - keep);
      promptCut = true;
    }
  }
  const cut = completions.map(() => promptCut);
  if (o.maxLength !== undefined) {
    const longest = Math.max(...completions.map((c) => c.length));
    const over = bos.length + prompt.length + longest - o.maxLength;
    if (over > 0) {
      const drop = Math.min(over, prompt.length);
      if (drop > 0) {
        prompt = prompt.slice(drop);
        cut.fill(true);
      }
    }
    const room = o.maxLength - bos.length - prompt.length;
    completions.forEach((c, i) => {
      if (c.length > room) {
        completions[i] = c.slice(0, room);
        cut[i] = true;
      }
    });
  }
  return { prompt: [...bos, ...prompt], completions, truncated: cut };
}

/**
 * Token id rows already made (BOS + prompt + completion each, e.g. sampled continuations) as
 * TokenizedRows: the first promptLengths[b] tokens of row b are prompt, the rest is scored.
 */
export function tokenizedFromIds(tok: TextTokenizer, rows: number[][], promptLengths: number[], options: TokenizeOptions = {}): TokenizedRows {
  return toRows(tok, rows, promptLengths, rows.map(() => false), options);
}

/** Pads host rows into the tensors of TokenizedRows. */
function toRows(tok: TextTokenizer, rows: number[][], promptLengths: number[], truncated: boolean[], o: TokenizeOptions, minLength = 1): TokenizedRows {
  const B = rows.length;
  if (B === 0) throw new Error('tokenize: no rows to tokenize');
  const padId = tok.padId ?? tok.eosId ?? 0;
  const T = Math.max(minLength, o.padTo ?? 1, ...rows.map((r) => r.length));
  const ids = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * T);
  const lengths = new Int32Array(B);
  const counts = new Float32Array(B);
  rows.forEach((row, b) => {
    const L = row.length, P = promptLengths[b];
    lengths[b] = L;
    for (let t = 0; t < L; t++) ids[b * T + t] = row[t];
    for (let t = 0; t + 1 < L; t++) {
      targets[b * T + t] = row[t + 1];
      // targets[t] = row[t+1] is a completion token when t + 1 ≥ P (a completion token at
      // position 0, with no BOS and no prompt, has nothing before it and is not scored).
      if (t + 1 >= P) {
        mask[b * T + t] = 1;
        counts[b]++;
      }
    }
  });
  const device = o.device;
  return {
    ids: tensor(ids, [B, T], { dtype: 'int32', device }),
    targets: tensor(targets, [B, T], { dtype: 'int32', device }),
    completionMask: tensor(mask, [B, T], { dtype: 'float32', device }),
    lengths: tensor(lengths, [B], { dtype: 'int32', device }),
    tokenCounts: tensor(counts, [B], { dtype: 'float32', device }),
    rows,
    promptLengths,
    truncated,
    length: T,
    padId,
  };
}

/**
 * A record's prompt and completions as text. Standard records are text already. Conversational
 * ones go through the tokenizer's chat template as TRL's maybe_apply_chat_template does: the prompt
 * rendered with the generation prompt appended, each completion as what the whole conversation
 * (prompt + completion messages) renders to after that prompt text.
 */
export function recordTexts(tok: TextTokenizer, prompt: PreferenceText, completions: PreferenceText[], where: string): { prompt: string; completions: string[] } {
  if (typeof prompt === 'string' && completions.every((c) => typeof c === 'string')) return { prompt, completions: completions as string[] };
  if (typeof prompt === 'string' || completions.some((c) => typeof c === 'string')) {
    throw new Error(`${where}: a record mixes text and message lists; give the prompt and the completions in one format`);
  }
  const template = tok.chatTemplate;
  if (!template) {
    throw new Error(`${where}: conversational records need the tokenizer's chat template, and ${tok.path} has none (tokenizer_config.json's chat_template, or chat_template.jinja beside it)`);
  }
  const promptText = template.render(prompt, { addGenerationPrompt: true });
  return {
    prompt: promptText,
    completions: (completions as Exclude<PreferenceText, string>[]).map((c) => {
      const whole = template.render([...prompt, ...c]);
      if (!whole.startsWith(promptText)) {
        throw new Error(`${where}: the chat template renders the prompt differently inside the whole conversation, so the completion cannot be cut off it (prompt: ${JSON.stringify(promptText.slice(0, 80))}…)`);
      }
      return whole.slice(promptText.length);
    }),
  };
}

/** The (prompt, completion) texts of each row of a batch: the chosen side, then the rejected side. */
export function batchRowTexts(tok: TextTokenizer, dataset: PreferenceDataset, batch: IndexBatch): { prompt: string; completion: string; promptId: number }[] {
  const rows: { prompt: string; completion: string; promptId: number }[] = [];
  const where = (r: { line: number; file?: string }) => recordLocation(dataset, r);
  if (dataset.paired) {
    const texts = batch.indices.map((i) => {
      const r = dataset.records[i];
      return { t: recordTexts(tok, r.prompt, [r.chosen, r.rejected], where(r)), id: r.promptId };
    });
    for (const side of [0, 1]) for (const { t, id } of texts) rows.push({ prompt: t.prompt, completion: t.completions[side], promptId: id });
  } else {
    for (const i of [...batch.chosen, ...batch.rejected]) {
      const r = dataset.records[i];
      const t = recordTexts(tok, r.prompt, [r.completion], where(r));
      rows.push({ prompt: t.prompt, completion: t.completions[0], promptId: r.promptId });
    }
  }
  return rows;
}

/**
 * Tokenizes (prompt, completion) rows into one side's tensors (see TokenizedRows). Each row is cut
 * on its own under maxLength / maxPromptLength.
 */
export async function tokenizeRows(tok: TextTokenizer, rows: { prompt: string; completion: string }[], options: TokenizeOptions = {}): Promise<TokenizedRows> {
  checkOptions(options);
  const groups = await Promise.all(rows.map((r) => tokenizeGroup(tok, { prompt: r.prompt, completions: [r.completion] }, options)));
  return toRows(
    tok,
    groups.map((g) => [...g.prompt, ...g.completions[0]]),
    groups.map((g) => g.prompt.length),
    groups.map((g) => g.truncated[0]),
    options,
  );
}

/** Host-side tokenization of one prompt with its completions under the truncation rules (for inspection). */
export async function tokenizePromptCompletions(tok: TextTokenizer, prompt: string, completions: string[], options: TokenizeOptions = {}): Promise<TokenizedGroup> {
  checkOptions(options);
  return tokenizeGroup(tok, { prompt, completions }, options);
}

/**
 * Tokenizes one IndexBatch of a standard-format (string) dataset: paired records give chosen and
 * rejected rows that share their (identically cut) prompt; unpaired records give the desirable
 * rows as `chosen` and the undesirable ones as `rejected`. Both sides are padded to the same T.
 * Conversational records go through the tokenizer's chat template first (recordTexts).
 */
export async function tokenizePreferenceBatch(
  tok: TextTokenizer,
  dataset: PreferenceDataset,
  batch: IndexBatch,
  options: TokenizeOptions = {},
): Promise<TokenizedPreferenceBatch> {
  checkOptions(options);
  const where = (r: { line: number; file?: string }) => recordLocation(dataset, r);
  let chosenRows: number[][], rejectedRows: number[][];
  let chosenP: number[], rejectedP: number[];
  let chosenCut: boolean[], rejectedCut: boolean[];
  if (dataset.paired) {
    const groups = await Promise.all(
      batch.indices.map((i) => {
        const r = dataset.records[i];
        return tokenizeGroup(tok, recordTexts(tok, r.prompt, [r.chosen, r.rejected], where(r)), options);
      }),
    );
    chosenRows = groups.map((g) => [...g.prompt, ...g.completions[0]]);
    rejectedRows = groups.map((g) => [...g.prompt, ...g.completions[1]]);
    chosenP = rejectedP = groups.map((g) => g.prompt.length);
    chosenCut = groups.map((g) => g.truncated[0]);
    rejectedCut = groups.map((g) => g.truncated[1]);
  } else {
    const c = await unpairedRows(tok, dataset, batch.chosen, options), r = await unpairedRows(tok, dataset, batch.rejected, options);
    ({ rows: chosenRows, p: chosenP, cut: chosenCut } = c);
    ({ rows: rejectedRows, p: rejectedP, cut: rejectedCut } = r);
  }
  const T = Math.max(...chosenRows.map((r) => r.length), ...rejectedRows.map((r) => r.length));
  return {
    paired: dataset.paired,
    chosen: toRows(tok, chosenRows, chosenP, chosenCut, options, T),
    rejected: toRows(tok, rejectedRows, rejectedP, rejectedCut, options, T),
    m: batch.m,
    n: batch.n,
    chosenPromptIds: batch.chosenPromptIds,
    rejectedPromptIds: batch.rejectedPromptIds,
  };
}

/** Host rows of some unpaired records, each cut on its own. */
async function unpairedRows(tok: TextTokenizer, dataset: PreferenceDataset, indices: number[], options: TokenizeOptions): Promise<{ rows: number[][]; p: number[]; cut: boolean[] }> {
  const gs = await Promise.all(
    indices.map((i) => {
      const r = dataset.records[i] as UnpairedRecord;
      return tokenizeGroup(tok, recordTexts(tok, r.prompt, [r.completion], recordLocation(dataset, r)), options);
    }),
  );
  return { rows: gs.map((g) => [...g.prompt, ...g.completions[0]]), p: gs.map((g) => g.prompt.length), cut: gs.map((g) => g.truncated[0]) };
}

/**
 * One side of unpaired records on its own (the rows tokenizePreferenceBatch gives that side, padded
 * to their own longest): for a micro-batch whose other side has no rows.
 */
export async function tokenizeUnpairedRows(tok: TextTokenizer, dataset: PreferenceDataset, indices: number[], options: TokenizeOptions = {}): Promise<TokenizedRows> {
  checkOptions(options);
  if (dataset.paired) throw new Error(`tokenizeUnpairedRows: ${dataset.path} is paired`);
  const { rows, p, cut } = await unpairedRows(tok, dataset, indices, options);
  return toRows(tok, rows, p, cut, options);
}
