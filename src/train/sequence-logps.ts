// Sequence log-probs of one tokenized side of a preference batch under a causal LM: the forward
// pass (right padding masked by keyPadding) and Σ_t log p(target_t) over the completion tokens.
import type { Tensor } from '../autograd/tensor.js';
import { noGrad, tidy } from '../autograd/scope.js';
import { tensor } from '../autograd/create.js';
import { cast, div, exp, maximum, mul } from '../kernels/elementwise/op.js';
import { sum } from '../kernels/reduce/op.js';
import { sequenceLogprobs, tokenLogprobs } from '../kernels/logprobs/op.js';
import { alignedTokenLogprobs } from '../kernels/aligned-logprobs/op.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { TokenizedRows } from '../data/tokenize.js';

/** The float dtype the model computes in (that of its first parameter). */
export function modelDtype(model: CausalLM): 'float32' | 'float64' {
  return model.dtype;
}

/**
 * [rows]: each row's log-probability of its completion tokens (prompt and padding masked out).
 * Differentiable through the model's parameters unless called under noGrad (the reference). A final
 * soft-cap of the logits (Gemma-2) is applied inside the log-prob kernel, not as a capped copy.
 */
export function sideLogps(model: CausalLM, side: TokenizedRows): Tensor {
  return sideFields(model, side).logps;
}

/** Which per-row fields besides the sequence log-probs one forward should yield (a loss's needs). */
export interface WantedFields {
  /** fullLogps and fullTokenCounts: over prompt and completion (LossNeeds.promptTokens). */
  full?: boolean;
  /** wpoWeights (LossNeeds.wpoWeights). */
  wpo?: boolean;
  /** unweightedLogps: the completion log-probs with every token counting 1 (LossNeeds.unweightedLogps under LD-DPO). */
  unweighted?: boolean;
}

/** A side's per-row fields from one forward: logps differentiable (and fullLogps), the rest constants. */
export interface SideFields {
  logps: Tensor;
  fullLogps?: Tensor;
  fullTokenCounts?: Tensor;
  unweightedLogps?: Tensor;
  wpoWeights?: Tensor;
}

/** sideLogps, and whatever else `want` asks of the same forward's logits. */
export function sideFields(model: CausalLM, side: TokenizedRows, want: WantedFields = {}): SideFields {
  const logits = model.forward(side.ids, { keyPadding: side.lengths, uncappedLogits: true });
  return fieldsFromLogits(logits, side, want, model.finalLogitSoftcap);
}

/** The rows' parts fieldsFromLogits reads. */
export type LogitRows = Pick<TokenizedRows, 'targets' | 'completionMask' | 'completionWeights' | 'rows'>;

/**
 * The per-row fields from logits [B, T, V] (uncapped; `softcap` is applied inside the kernels):
 *   logps       Σ_t w_t·log p(target_t), w the completion mask or its LD-DPO weights;
 *   fullLogps   Σ over every target of the row (prompt after BOS, and completion), unweighted:
 *               one tokenLogprobs pass over all positions then serves both sums;
 *   unweightedLogps  Σ_t m_t·log p(target_t), m the 0/1 completion mask (differentiable): the same
 *               token log-probs summed a second time;
 *   wpoWeights  exp(Σ_t m_t·(log p(target_t) − log Σ_v p(v)²) / max(Σ_t m_t, 1)), m the 0/1 completion
 *               mask, as TRL's use_weighting; no gradient.
 */
export function fieldsFromLogits(logits: Tensor, side: LogitRows, want: WantedFields = {}, softcap?: number): SideFields {
  const dtype = logits.dtype as 'float32' | 'float64';
  const [B, T] = side.targets.shape;
  const host = (v: Float64Array) => tensor(dtype === 'float32' ? Float32Array.from(v) : v, [B, T], { device: logits.device, dtype });
  const mask = cast(side.completionMask, dtype);
  const weights = side.completionWeights ? host(side.completionWeights) : mask;
  const out: SideFields = { logps: undefined as unknown as Tensor };
  if (want.full || want.unweighted) {
    // One tokenLogprobs pass: over every position of the row when fullLogps is wanted, else over the completion.
    let scored = mask;
    if (want.full) {
      const all = new Float64Array(B * T);
      side.rows.forEach((row, b) => all.fill(1, b * T, b * T + Math.max(0, row.length - 1)));
      scored = host(all);
    }
    const tok = tokenLogprobs(logits, side.targets, scored, { softcap });
    out.logps = sum(mul(tok, weights), -1);
    if (want.full) {
      out.fullLogps = sum(tok, -1);
      out.fullTokenCounts = tensor(side.rows.map((row) => Math.max(0, row.length - 1)), [B], { device: logits.device, dtype });
    }
    if (want.unweighted) out.unweightedLogps = want.full ? sum(mul(tok, mask), -1) : sum(tok, -1);
  } else {
    out.logps = sequenceLogprobs(logits, side.targets, weights, { softcap });
  }
  if (want.wpo) {
    out.wpoWeights = noGrad(() => exp(div(sum(alignedTokenLogprobs(logits, side.targets, mask, { softcap }), -1), maximum(sum(mask, -1), 1))));
  }
  return out;
}

/**
 * [rows] under the frozen reference model: no graph is recorded, and the forward's activations
 * are freed as soon as the log-probs exist (inside the step's tidy they would otherwise live until
 * the step ends: on a 7B model, as much memory as the policy's own activations).
 */
export function referenceLogps(reference: CausalLM, side: TokenizedRows): Tensor {
  return tidy(() => noGrad(() => sideLogps(reference, side)));
}

/**
 * [rows, hidden]: a stand-in prompt embedding, the mean of the model's input token embeddings over
 * each row's prompt tokens (BOS included), computed without gradient. relpo has no sentence
 * embedder yet; RPO's 'embedding' weighting uses this (see docs/training.md).
 */
export function meanPromptEmbeddings(model: CausalLM, side: TokenizedRows): Tensor {
  return noGrad(() => {
    const [B, T] = side.ids.shape;
    const w = new Float64Array(B * T);
    side.promptLengths.forEach((P, b) => {
      const n = Math.max(1, Math.min(P, T));
      for (let t = 0; t < n; t++) w[b * T + t] = 1 / n;
    });
    const emb = model.inputEmbeddings(side.ids); // [B, T, d]
    const weights = tensor(w, [B, T, 1], { device: emb.device, dtype: emb.dtype });
    return sum(mul(emb, weights), 1); // [B, d]
  });
}

/** Completion token counts [rows] in the given dtype. */
export function tokenCounts(side: TokenizedRows, dtype: 'float32' | 'float64'): Tensor {
  return cast(side.tokenCounts, dtype);
}

