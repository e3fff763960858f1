// Text generation from a LlamaForCausalLM: greedy or sampled (temperature, top-k, top-p, seeded),
// a batch of prompts at once. Rows are right-padded and grow in place: each step runs the model
// over the batch (keyPadding = each row's length), takes every row's logits at its last position
// (gathered on the device, so only [B, vocab] is read back), picks a token per row on the host
// and writes it after the row. There is no KV cache yet: each step recomputes the whole prefix,
// O(length²) work, fine for evaluation-sized outputs of small models, slow for long ones.
import type { Tensor } from '../autograd/tensor.js';
import { tensor } from '../autograd/create.js';
import { noGrad, tidy } from '../autograd/scope.js';
import { mulberry32 } from '../autograd/random.js';
import { reshape } from '../kernels/copy/op.js';
import { indexSelect } from '../kernels/gather/op.js';
import type { LlamaForCausalLM } from '../models/llama.js';
import type { TextTokenizer } from '../io/tokenizer.js';

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
  /** Seed of the sampling (default 0): the same seed gives the same text. */
  seed?: number;
}

function checkOptions(o: GenerateOptions): void {
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${o.maxNewTokens}`);
  const temperature = o.temperature ?? 0;
  if (!Number.isFinite(temperature) || temperature < 0) throw new Error(`generate: temperature must be ≥ 0, got ${o.temperature}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new Error(`generate: topK must be a non-negative integer, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new Error(`generate: topP must be in (0, 1], got ${o.topP}`);
}

/** The next token from one row of logits: the argmax, or a sample under temperature, top-k, top-p. */
export function pickToken(logits: ArrayLike<number>, o: GenerateOptions, uniform: () => number): number {
  const temperature = o.temperature ?? 0;
  const V = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
    return best;
  }
  // Most likely first; softmax of logits / temperature in float64.
  const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => logits[b] - logits[a]);
  const keep = o.topK && o.topK > 0 ? Math.min(o.topK, V) : V;
  const max = logits[order[0]];
  const weights = order.slice(0, keep).map((v) => Math.exp((logits[v] - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let n = weights.length;
  if (o.topP !== undefined && o.topP < 1) {
    // The smallest set of most likely tokens whose probability reaches topP (at least one).
    let cum = 0;
    for (let i = 0; i < weights.length; i++) {
      cum += weights[i] / total;
      if (cum >= o.topP) {
        n = i + 1;
        break;
      }
    }
  }
  const kept = weights.slice(0, n);
  const keptTotal = kept.reduce((a, b) => a + b, 0);
  let u = uniform() * keptTotal;
  for (let i = 0; i < n; i++) {
    u -= kept[i];
    if (u < 0) return order[i];
  }
  return order[n - 1];
}

/**
 * Continues each prompt (token ids, e.g. BOS + prompt) by up to maxNewTokens tokens; returns the
 * new tokens of each row (ending with its stop token when one was produced). A row also stops at
 * the model's max_position_embeddings.
 */
export async function generateIds(model: LlamaForCausalLM, prompts: number[][], options: GenerateOptions): Promise<number[][]> {
  checkOptions(options);
  if (prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token (e.g. BOS)');
  const limit = model.config.max_position_embeddings ?? Infinity;
  const stop = new Set(options.stopIds ?? []);
  const rows = prompts.map((p) => [...p]);
  const added: number[][] = prompts.map(() => []);
  const done = prompts.map((p) => p.length >= limit);
  const uniform = mulberry32((options.seed ?? 0) >>> 0 || 1);
  const device = model.device;
  for (let step = 0; step < options.maxNewTokens && done.some((d) => !d); step++) {
    const B = rows.length;
    const T = Math.max(...rows.map((r) => r.length));
    const ids = new Int32Array(B * T);
    rows.forEach((r, b) => ids.set(r, b * T));
    const last: Tensor = noGrad(() =>
      tidy(() => {
        const logits = model.forward(tensor(ids, [B, T], { device, dtype: 'int32' }), {
          keyPadding: tensor(Int32Array.from(rows, (r) => r.length), [B], { device, dtype: 'int32' }),
        });
        const V = logits.shape[2];
        const at = tensor(Int32Array.from(rows, (r, b) => b * T + r.length - 1), [B], { device, dtype: 'int32' });
        return indexSelect(reshape(logits, [B * T, V]), 0, at); // [B, V]
      }),
    );
    const V = last.shape[1];
    const values = await last.data();
    last.dispose();
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const next = pickToken(values.subarray(b * V, (b + 1) * V), options, uniform);
      rows[b].push(next);
      added[b].push(next);
      if (stop.has(next) || rows[b].length >= limit) done[b] = true;
    }
  }
  return added;
}

/**
 * Continues each text prompt: encoded as training encodes prompts (BOS when the tokenizer adds
 * one), stopped at EOS, decoded without special tokens.
 */
export async function generateText(model: LlamaForCausalLM, tokenizer: TextTokenizer, prompts: string[], options: GenerateOptions): Promise<string[]> {
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
