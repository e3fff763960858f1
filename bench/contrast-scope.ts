// The step group's scope rows: what RPO's contrast over the whole step costs. At the same effective
// batch (k micro-batches of b pairs), one optimizer step of DPO (one pass per micro-batch), of RPO
// in 'micro-batch' scope (one pass, a b × b matrix per micro-batch) and of RPO in 'step' scope (two
// passes, one k·b × k·b matrix), timed in turn (each round starting one variant later), through the trainer's own stage
// functions (tokenization and read-backs included, as a user's step pays them); medians per
// variant, ratios against DPO's median from the same rounds. Per setup: full fine-tuning with a
// live reference, LoRA with the base as reference, gradient checkpointing, precomputed reference
// log-probs. The text is random letters under a byte tokenizer, so the model's vocabulary is free.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../src/index.js';
import type { TextTokenizer } from '../src/io/index.js';
import { mulberry32 } from '../src/autograd/random.js';
import { planPreferenceBatches, readPreferenceJsonl, type PreferenceDataset } from '../src/data/index.js';
import { lossNeeds } from '../src/losses/index.js';
import { ReferenceLogpsCache } from '../src/train/reference-cache.js';
import {
  referenceOf, singlePassStep, twoPassStep, usesTwoPasses, type ContrastScope, type PlannedMicroBatch, type StepContext,
} from '../src/train/index.js';

export interface ScopeRow {
  setup: string;
  variant: string;
  shape: string;
  medianMs: number;
  minMs: number;
  /** This variant's median over DPO's from the same rounds: the cost of a step relative to DPO's. */
  timeVsDpo: number;
  peakMiB: number;
}

/** UTF-8 bytes as tokens, BOS 256, EOS 257: any model vocabulary above 258 will do. */
const bytesTokenizer: TextTokenizer = {
  encode: async (text) => [...new TextEncoder().encode(text)],
  decode: async (ids) => new TextDecoder().decode(Uint8Array.from(ids.filter((i) => i < 256))),
  tokenToId: () => undefined,
  vocabSize: 258, bosId: 256, eosId: 257, addBos: true, path: '(bytes)',
};

function randomText(rand: () => number, chars: number): string {
  let s = '';
  while (s.length < chars) s += `${' abcdefghijklmnopqrstuvwxyz'[Math.floor(rand() * 27)]}`;
  return s;
}

async function syntheticPairs(records: number, T: number): Promise<PreferenceDataset> {
  const rand = mulberry32(17);
  // BOS + prompt + completion + EOS = T tokens.
  const half = Math.floor((T - 2) / 2);
  const rows = Array.from({ length: records }, () => ({ prompt: randomText(rand, half), chosen: randomText(rand, T - 2 - half), rejected: randomText(rand, T - 2 - half) }));
  const path = join(mkdtempSync(join(tmpdir(), 'relpo-bench-scope-')), 'pairs.jsonl');
  writeFileSync(path, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return readPreferenceJsonl(path);
}

const LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

interface Setup {
  name: string;
  lora: boolean;
  checkpointing: boolean;
  precompute: boolean;
}

const SETUPS: Setup[] = [
  { name: 'full fine-tuning, live reference', lora: false, checkpointing: false, precompute: false },
  { name: 'LoRA r16, base as reference', lora: true, checkpointing: false, precompute: false },
  { name: 'full, gradient checkpointing', lora: false, checkpointing: true, precompute: false },
  { name: 'full, precomputed reference', lora: false, checkpointing: false, precompute: true },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function contrastScopeRows(device: r.Device, opts: { small: boolean; reps: number; log?: (line: string) => void }): Promise<ScopeRow[]> {
  const cfg = opts.small
    ? { vocab_size: 512, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 }
    : { vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, tie_word_embeddings: true };
  const [b, k, T] = opts.small ? [2, 4, 64] : [2, 8, 512];
  const data = await syntheticPairs(b * k, T);
  const micro: PlannedMicroBatch[] = planPreferenceBatches(data, { batchSize: b, shuffle: false }).map((index, i) => ({ epoch: 0, batchInEpoch: i, index }));
  const shape = `${opts.small ? 'tiny' : 'SmolLM-135M'} LLaMA, ${k} micro-batches × ${b} pairs × ${T} tokens`;
  const rows: ScopeRow[] = [];
  for (const setup of SETUPS) {
    const policy = new r.LlamaForCausalLM(cfg, { seed: 1, device });
    const reference = setup.lora ? undefined : new r.LlamaForCausalLM(cfg, { seed: 1, device });
    if (setup.lora) r.applyLora(policy, { r: 16, alpha: 32, targetModules: LINEAR });
    policy.gradientCheckpointingEnable(setup.checkpointing);
    let refLogps = referenceOf(policy, reference);
    if (setup.precompute && refLogps) {
      const cache = new ReferenceLogpsCache(refLogps);
      await cache.fill(bytesTokenizer, data, b, { device });
      refLogps = cache.logps;
    }
    const opt = new r.AdamW(policy.parameters().filter((p) => p.requiresGrad), { lr: 1e-6 });
    const variants = ([['dpo', 'step'], ['rpo', 'micro-batch'], ['rpo', 'step']] as [string, ContrastScope][]).map(([lossName, scope]) => {
      const loss = r.getLoss(lossName);
      const config = loss.resolveConfig();
      const needs = lossNeeds(loss.plugin, config);
      const ctx: StepContext = {
        policy, reference: refLogps, loss, config, needs, dtype: 'float32', prompts: undefined, tokenizer: bytesTokenizer, dataset: data,
        tokenize: { device }, seed: 0, refuse: (s, where, what) => new Error(`bench step ${s} (${where}): ${what}`),
      };
      const name = lossName === 'dpo' ? 'dpo' : `rpo, ${scope} scope (${scope === 'step' ? `${k * b}×${k * b}` : `${b}×${b}`} matrix)`;
      return { name, ctx, run: usesTwoPasses(scope, k, needs, true) ? twoPassStep : singlePassStep, times: [] as number[], peak: 0 };
    });
    // Round 0 warms up (pipelines, buffer pools) and is not counted; each round starts with the
    // next variant, so none always runs first.
    for (let round = 0; round <= opts.reps; round++) {
      for (const v of variants.map((_, i) => variants[(i + round) % variants.length])) {
        await device.sync();
        device.resetPeakMemory();
        const t0 = performance.now();
        await v.run(v.ctx, round + 1, micro);
        r.tidy(() => opt.step());
        opt.zeroGrad();
        await device.sync();
        if (round > 0) v.times.push(performance.now() - t0);
        v.peak = Math.max(v.peak, device.memory().peakLiveBytes ?? 0);
      }
    }
    const dpo = median(variants[0].times);
    for (const v of variants) {
      const row: ScopeRow = { setup: setup.name, variant: v.name, shape, medianMs: median(v.times), minMs: Math.min(...v.times), timeVsDpo: median(v.times) / dpo, peakMiB: Math.round(v.peak / 2 ** 20) };
      rows.push(row);
      opts.log?.(`${setup.name.padEnd(36)} ${v.name.padEnd(40)} ${row.medianMs.toFixed(1).padStart(9)} ms  ${row.timeVsDpo.toFixed(3)}× DPO's time  peak ${row.peakMiB} MiB`);
    }
    opt.dispose();
    policy.dispose();
    reference?.dispose();
  }
  return rows;
}
