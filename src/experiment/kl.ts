// KL(π ‖ π_ref) per prompt, estimated by sampling: for completions y drawn from the policy
// (temperature 1, seeded per prompt and sample), the mean of log π(y|x) − log π_ref(y|x) over the
// samples is an unbiased estimate of the sequence-level KL; averaged over the prompts.
import type { CausalLM } from '../models/causal-lm.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { Device } from '../autograd/device.js';
import { generateIds } from '../eval/generate.js';
import { tokenizedFromIds } from '../data/tokenize.js';
import { sideLogps } from '../train/sequence-logps.js';
import { referenceOf } from '../train/batch.js';
import { noGrad, tidy } from '../autograd/scope.js';

export interface SampledKlOptions {
  /** Samples per prompt. */
  samples: number;
  maxNewTokens: number;
  seed: number;
  device: Device;
  /** Rows scored per forward (default 32). */
  batchSize?: number;
}

/**
 * The mean over prompts (token ids, BOS included) of the sampled KL estimate; NaN with no samples.
 * reference: the SFT model, or none for a LoRA policy (its base, adapters off, is the reference).
 */
export async function sampledKl(policy: CausalLM, reference: CausalLM | undefined, tok: TextTokenizer, prompts: number[][], o: SampledKlOptions): Promise<number> {
  if (o.samples === 0 || prompts.length === 0) return NaN;
  const referenceLogps = referenceOf(policy, reference);
  if (!referenceLogps) throw new Error('sampledKl: a reference model is needed (or a LoRA policy, whose base serves)');
  const rows = prompts.flatMap((p, i) => Array.from({ length: o.samples }, (_, s) => ({ prompt: p, seed: o.seed * 1_000_003 + i * o.samples + s })));
  const stopIds = tok.eosId !== undefined ? [tok.eosId] : [];
  const generated = await generateIds(policy, rows.map((r) => r.prompt), { maxNewTokens: o.maxNewTokens, temperature: 1, stopIds, rowSeeds: rows.map((r) => r.seed) });
  const batch = o.batchSize ?? 32;
  let total = 0;
  for (let b = 0; b < rows.length; b += batch) {
    const part = rows.slice(b, b + batch);
    const ids = part.map((r, i) => [...r.prompt, ...generated[b + i]]);
    const side = tokenizedFromIds(tok, ids, part.map((r) => r.prompt.length), { device: o.device });
    const [lp, lr] = await Promise.all([() => noGrad(() => sideLogps(policy, side)), () => referenceLogps(side)].map(async (score) => {
      const logps = tidy(score);
      const values = await logps.data();
      logps.dispose();
      return values;
    }));
    for (let i = 0; i < part.length; i++) total += lp[i] - lr[i];
    for (const t of [side.ids, side.targets, side.completionMask, side.lengths, side.tokenCounts]) t.dispose();
  }
  return total / rows.length;
}
