// Sequence log-probs of one tokenized side of a preference batch under a causal LM: the forward
// pass (right padding masked by keyPadding) and Σ_t log p(target_t) over the completion tokens.
import type { Tensor } from '../autograd/tensor.js';
import { noGrad, tidy } from '../autograd/scope.js';
import { tensor } from '../autograd/create.js';
import { cast, mul } from '../kernels/elementwise/op.js';
import { sum } from '../kernels/reduce/op.js';
import { sequenceLogprobs } from '../kernels/logprobs/op.js';
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
  const logits = model.forward(side.ids, { keyPadding: side.lengths, uncappedLogits: true });
  const mask = cast(side.completionMask, logits.dtype);
  return sequenceLogprobs(logits, side.targets, mask, { softcap: model.finalLogitSoftcap });
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

