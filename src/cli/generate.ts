// `relpo generate`: continue a prompt with a LLaMA checkpoint, by default the one `relpo train`
// wrote (runs/relpo-train/checkpoint), greedy or sampled; with --data, complete each distinct
// prompt of a dataset into a JSONL file that `relpo judge` reads (resumable).
import { existsSync, mkdirSync, appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as r from '../index.js';
import { fetchHubPath } from '../io/hub-cache.js';
import type { FlagSpec, Flags } from './args.js';
import { checkpointTokenizer, dataPath } from './defaults.js';
import { readJsonlIds } from './jsonl-out.js';
import { ProgressBar } from '../io/progress.js';

export const GENERATE_FLAGS: FlagSpec[] = [
  { name: 'model', help: 'checkpoint folder (LLaMA/Mistral)', default: 'runs/relpo-train/checkpoint' },
  { name: 'tokenizer', help: "tokenizer.json or its folder; empty: the model's, else the LLaMA-family one relpo train uses", default: '' },
  { name: 'adapter', help: 'a LoRA adapter folder (PEFT format, e.g. a relpo train --lora-r checkpoint) to apply to --model', default: '' },
  { name: 'force', help: 'with --adapter: apply it even when it records another base (relpo_base.json)', default: false },
  { name: 'keep-adapter', help: 'with --adapter on a float32 base: keep the LoRA layers apart instead of merging them in (merged, an adapted layer costs no extra kernels per token)', default: false },
  { name: 'base-dtype', help: "hold --model's Linear weights in float32, bfloat16 (half the memory) or nf4 (about a seventh); decoding reads them as stored", default: 'float32' },
  { name: 'prompt', help: 'the text to continue', default: 'The sky is' },
  { name: 'max-new-tokens', help: 'tokens to add at most', default: 32 },
  { name: 'temperature', help: '0: greedy; above 0: sampled', default: 0 },
  { name: 'top-k', help: 'sample among the k most likely tokens (0: all)', default: 0 },
  { name: 'top-p', help: 'sample among the most likely tokens holding this probability', default: 1 },
  { name: 'seed', help: 'sampling seed', default: 0 },
  { name: 'device', help: 'webgpu, cpu or auto (RELPO_DEVICE)', default: '', check: { choices: ['', 'webgpu', 'cpu', 'auto'] } },
  { name: 'data', help: "complete every distinct prompt of this preference file (JSONL or .parquet) instead of --prompt", default: '' },
  { name: 'split', help: 'with a dataset folder as --data: the split whose prompts to complete', default: 'test' },
  { name: 'out', help: 'with --data: the completions JSONL (appended to; prompts already in it are skipped)', default: 'runs/relpo-generate/completions.jsonl' },
  { name: 'limit', help: 'with --data: the first N distinct prompts (0: all; the paper judges 256)', default: 0 },
  { name: 'max-prompt-length', help: 'with --data: prompt tokens kept, the last ones', default: 256 },
  { name: 'save-every', help: 'with --data: prompts generated together as one batch, appended to --out when done', default: 8 },
];

export async function runGenerate(flags: Flags): Promise<void> {
  const modelDir = await fetchHubPath(String(flags.model), 'model');
  if (!existsSync(join(modelDir, 'config.json'))) {
    throw new Error(`relpo generate: no checkpoint at ${modelDir} (no config.json); run \`npm run train\` first or pass --model`);
  }
  const baseDtype = String(flags['base-dtype']);
  if (!['float32', 'bfloat16', 'nf4'].includes(baseDtype)) throw new Error(`--base-dtype must be float32, bfloat16 or nf4, got ${JSON.stringify(baseDtype)}`);
  // Under mpirun (--data) each rank completes its share of the prompts; rank 0 alone prints and writes.
  const comm = r.communicatorFromEnv();
  const tell = comm.rank === 0 ? (text: string) => process.stderr.write(text) : () => true;
  const device = await r.init({ ...(flags.device ? { device: flags.device as r.DeviceChoice } : {}), quiet: comm.rank !== 0 });
  const tokenizer = await r.loadTokenizer(checkpointTokenizer(String(flags.tokenizer), modelDir));
  // The weights stream in already held as --base-dtype (never the float32 model).
  const model = await r.loadPretrainedCausalLM(modelDir, { device, linearStorage: baseDtype as r.WeightStorage });
  if (baseDtype !== 'float32') {
    const held = model.namedModules().filter(([, m]) => m instanceof r.Linear && m.storage === baseDtype).length;
    tell(`relpo generate: ${held} weight matrices held in ${baseDtype}\n`);
  }
  try {
    if (flags.adapter) {
      await r.checkAdapterBase(model, String(flags.adapter), modelDir, Boolean(flags.force));
      await r.loadLoraAdapter(model, String(flags.adapter));
      // A LoRA layer runs four more kernels per token (x·Aᵀ, ·Bᵀ, the scale, the sum); merged into a
      // float32 base it runs none. A bfloat16 / NF4 base stays apart: merging would widen it.
      if (baseDtype === 'float32' && !flags['keep-adapter']) {
        const n = r.loraLayers(model).length;
        r.mergeLora(model);
        tell(`relpo generate: merged the adapter's ${n} LoRA layers into the base\n`);
      }
    }
    const sampling = {
      maxNewTokens: Number(flags['max-new-tokens']),
      temperature: Number(flags.temperature),
      topK: Number(flags['top-k']),
      topP: Number(flags['top-p']),
      seed: Number(flags.seed),
    };
    if (flags.data) {
      await completeDataset(model, tokenizer, flags, sampling, comm);
      return;
    }
    const [text] = await r.generateText(model, tokenizer, [String(flags.prompt)], sampling);
    process.stdout.write(`${String(flags.prompt)}${text}\n`);
  } finally {
    model.dispose();
  }
}

async function completeDataset(model: r.CausalLM, tokenizer: r.TextTokenizer, flags: Flags, sampling: r.GenerateOptions, comm: r.Communicator): Promise<void> {
  const dataset = await r.readPreferenceData(dataPath(String(flags.data)), { split: String(flags.split) });
  const out = String(flags.out);
  const writer = comm.rank === 0;
  const limit = Number(flags.limit) > 0 ? Math.min(Number(flags.limit), dataset.prompts.length) : dataset.prompts.length;
  // Lines already in --out (a resumed run): their prompt ids are skipped. A truncated last line
  // (a crash mid-write) is an error naming it, so nothing is silently recomputed or lost. Every
  // rank reads it (on several nodes --out must be on a shared filesystem).
  const done = readJsonlIds(out);
  const todo = Array.from({ length: limit }, (_, id) => id).filter((id) => !done.has(id)).length;
  if (writer) {
    mkdirSync(dirname(out) || '.', { recursive: true });
    process.stderr.write(`relpo generate: ${limit} prompts of ${dataset.path}${done.size ? ` (${done.size} already in ${out})` : ''}${comm.size > 1 ? ` on ${comm.size} ranks` : ''} → ${out}\n`);
  }
  const bar = writer ? new ProgressBar(todo, 'generate') : undefined;
  let n = 0;
  bar?.update(0);
  await r.generateDatasetCompletions(model, tokenizer, dataset, {
    ...sampling,
    limit,
    batchSize: Number(flags['save-every']),
    maxPromptLength: Number(flags['max-prompt-length']),
    skip: done,
    communicator: comm,
    onBatch: (records) => {
      if (writer) appendFileSync(out, records.map((x) => JSON.stringify(x) + '\n').join(''));
      n += records.length;
      bar?.update(n);
    },
  });
  if (writer) process.stdout.write(`${out}: ${done.size + n} completions\n`);
}
