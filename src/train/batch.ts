// One training step's batch: the tokenized rows (and KTO's mismatched KL rows) turned into the
// PreferenceBatch a loss reads, policy log-probs with gradient, the rest without.
import type { Tensor } from '../autograd/tensor.js';
import { noGrad, tidy } from '../autograd/scope.js';
import { cast } from '../kernels/elementwise/op.js';
import type { LossNeeds, PreferenceBatch, PreferenceSide } from '../losses/types.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { type PreferenceDataset, recordLocation } from '../data/jsonl.js';
import type { IndexBatch } from '../data/batches.js';
import { batchRowTexts, tokenizeRows, type TokenizeOptions, type TokenizedPreferenceBatch, type TokenizedRows } from '../data/tokenize.js';
import { type WantedFields, meanPromptEmbeddings, referenceLogps, sideFields, sideLogps, tokenCounts } from './sequence-logps.js';
import { desensitizeLengths } from './length-desensitize.js';
import type { PromptEmbeddingCache } from './prompt-embeddings.js';
import { loraLayers, withAdaptersDisabled } from '../nn/lora.js';

/** A tokenized batch, with KTO's mismatched rows when the loss needs a KL estimate. */
export type TrainBatch = TokenizedPreferenceBatch & { kl?: TokenizedRows };

/**
 * KTO's KL rows, as TRL builds them: the batch's (prompt, completion) rows (chosen side, then
 * rejected), each prompt paired with the previous row's completion (the first with the last's), so
 * that the policy and reference log-probs of mismatched pairs estimate KL(π‖π_ref).
 */
export async function tokenizeKlRows(tokenizer: TextTokenizer, dataset: PreferenceDataset, index: IndexBatch, options: TokenizeOptions): Promise<TokenizedRows> {
  return tokenizeRows(tokenizer, klRowTexts(tokenizer, dataset, index), options);
}

/** The texts of tokenizeKlRows' rows, in the batch's row order (chosen side, then rejected side). */
export function klRowTexts(tokenizer: TextTokenizer, dataset: PreferenceDataset, index: IndexBatch): { prompt: string; completion: string }[] {
  const rows = batchRowTexts(tokenizer, dataset, index);
  if (new Set(rows.map((r) => r.promptId)).size < 2) {
    throw new Error(
      `trainPreference: a batch of ${dataset.path} (${index.indices.map((i) => recordLocation(dataset, dataset.records[i])).join(', ')}) has one distinct prompt, so KTO's KL pairs would not be mismatched (TRL requires a batch size above 1 for the same reason); use a larger batch`,
    );
  }
  return rows.map((r, i) => ({ prompt: r.prompt, completion: rows[(i + rows.length - 1) % rows.length].completion }));
}

/**
 * The reference log-probs of some rows, without gradient: a separate frozen model's, or (with LoRA
 * and no reference model, as TRL with PEFT) the policy's own with its adapters switched off.
 */
export type ReferenceLogps = (rows: TokenizedRows) => Tensor;

export function referenceOf(policy: CausalLM, reference: CausalLM | undefined): ReferenceLogps | undefined {
  if (reference) return (rows) => referenceLogps(reference, rows);
  // In its own tidy, as referenceLogps: the base forward's activations go as soon as it is done.
  if (loraLayers(policy).length > 0) return (rows) => tidy(() => noGrad(() => withAdaptersDisabled(policy, () => sideLogps(policy, rows))));
  return undefined;
}

export function buildBatch(
  tok: TrainBatch,
  policy: CausalLM,
  reference: ReferenceLogps | undefined,
  needs: LossNeeds,
  dtype: 'float32' | 'float64',
  prompts?: PromptEmbeddingCache,
): PreferenceBatch {
  applyVerboseWeight(tok, needs);
  const side = (rows: TokenizedRows, promptIds: number[], name: 'chosen' | 'rejected'): PreferenceSide => {
    const f = sideFields(policy, rows, wantedFields(needs, name));
    const s: PreferenceSide = { policyLogps: f.logps, promptIds };
    if (f.fullLogps) Object.assign(s, { fullLogps: f.fullLogps, fullTokenCounts: f.fullTokenCounts });
    if (f.unweightedLogps) s.unweightedLogps = f.unweightedLogps;
    if (f.wpoWeights) s.wpoWeights = f.wpoWeights;
    if (needs.reference && reference) s.refLogps = castTo(reference(rows), dtype);
    if (needs.tokenAverage) s.tokenCounts = tokenCounts(rows, dtype);
    if (needs.promptEmbeddings) s.promptEmbeddings = prompts ? prompts.rows(promptIds, policy.device, dtype) : meanPromptEmbeddings(policy, rows);
    return s;
  };
  const batch: PreferenceBatch = { paired: tok.paired, chosen: side(tok.chosen, tok.chosenPromptIds, 'chosen'), rejected: side(tok.rejected, tok.rejectedPromptIds, 'rejected') };
  if (tok.kl && reference) {
    // Without gradient on both sides, as TRL computes them.
    batch.kl = { policyLogps: noGrad(() => sideLogps(policy, tok.kl!)), refLogps: castTo(reference(tok.kl), dtype) };
  }
  return batch;
}

/**
 * What a side's forward must yield besides its log-probs: the prompt's tokens on the chosen side
 * only, and there the unweighted log-probs too when a verbose weight makes them differ.
 */
export function wantedFields(needs: LossNeeds, side: 'chosen' | 'rejected'): WantedFields {
  const unweighted = needs.unweightedLogps === true && (needs.verboseWeight ?? 1) !== 1 && side === 'chosen';
  return { full: needs.promptTokens === true && side === 'chosen', wpo: needs.wpoWeights === true, ...(unweighted ? { unweighted } : {}) };
}

/** LD-DPO's per-token weights on a paired batch's rows, when the loss asks for them. */
export function applyVerboseWeight(tok: { paired: boolean; chosen?: TokenizedRows; rejected?: TokenizedRows }, needs: LossNeeds): void {
  const alpha = needs.verboseWeight ?? 1;
  if (alpha === 1) return;
  if (!tok.paired || !tok.chosen || !tok.rejected) throw new Error(`LD-DPO (verbose weight ${alpha}) needs paired data: it splits each pair's answers at the shorter one's length`);
  desensitizeLengths(tok.chosen, tok.rejected, alpha);
}

const castTo = (t: Tensor, dtype: 'float32' | 'float64') => (t.dtype === dtype ? t : cast(t, dtype));

export function sumLengths(rows: TokenizedRows): number {
  return rows.rows.reduce((a, r) => a + r.length, 0);
}

export function disposeTokenized(tok: TrainBatch): void {
  disposeRows(tok.chosen, tok.rejected, tok.kl);
}

/** Frees tokenized rows' tensors (absent sides are skipped). */
export function disposeRows(...sides: (TokenizedRows | undefined)[]): void {
  for (const rows of sides) if (rows) for (const t of [rows.ids, rows.targets, rows.completionMask, rows.lengths, rows.tokenCounts]) t.dispose();
}
