// `relpo eval`: a checkpoint's preference loss and metrics (reward accuracy, margins, …) on a
// dataset, against a reference checkpoint, or the base model under a LoRA adapter. Under mpirun
// each rank evaluates a part of the batches; rank 0 alone prints.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as r from '../index.js';
import { fetchHubPath } from '../io/hub-cache.js';
import type { FlagSpec, Flags } from './args.js';
import { DEFAULT_DATA, checkpointTokenizer, dataPath as resolveData } from './defaults.js';
import { LOSS_FLAGS, lossFromFlags } from './loss-flags.js';

export const EVAL_FLAGS: FlagSpec[] = [
  { name: 'model', help: 'checkpoint folder (LLaMA/Mistral) to evaluate', default: 'runs/relpo-train/checkpoint' },
  { name: 'adapter', help: 'a LoRA adapter folder applied to --model (the base model is then the reference)', default: '' },
  { name: 'reference', help: "reference checkpoint folder (for dpo, rpo, …: usually the model training started from); empty: the run's initial-model beside --model when relpo train saved one", default: '' },
  { name: 'data', help: 'preference data: JSONL, .parquet, or a dataset folder (Hugging Face layout, --split; TRL formats; docs/data.md)', default: DEFAULT_DATA },
  { name: 'split', help: 'with a dataset folder as --data: the split to evaluate', default: 'test' },
  { name: 'loss', help: 'preference loss whose value and metrics to report; comma-separated for a weighted sum', default: 'dpo' },
  ...LOSS_FLAGS,
  { name: 'tokenizer', help: "tokenizer.json or its folder; empty: the model's, else the LLaMA-family one relpo train uses", default: '' },
  { name: 'batch', help: 'pairs per batch', default: 8 },
  { name: 'max-length', help: 'longest tokenized row', default: 512 },
  { name: 'device', help: 'webgpu, cpu or auto (RELPO_DEVICE)', default: '', check: { choices: ['', 'webgpu', 'cpu', 'auto'] } },
];

export async function runEval(flags: Flags): Promise<void> {
  const choice = lossFromFlags(flags, 'dpo');
  const modelDir = await fetchHubPath(String(flags.model), 'model');
  if (!existsSync(join(modelDir, 'config.json'))) throw new Error(`relpo eval: no checkpoint at ${modelDir} (no config.json); pass --model`);
  const comm = r.communicatorFromEnv();
  const say = comm.rank === 0 ? (text: string) => process.stdout.write(text) : () => true;
  const device = await r.init({ ...(flags.device ? { device: flags.device as r.DeviceChoice } : {}), quiet: comm.rank !== 0 });
  const tokenizer = await r.loadTokenizer(checkpointTokenizer(String(flags.tokenizer), modelDir));
  const dataPath = await fetchHubPath(resolveData(String(flags.data)), 'dataset');
  const dataset = await r.readPreferenceData(dataPath, { split: String(flags.split) });
  const policy = await r.loadPretrainedCausalLM(modelDir, { device });
  // No --reference: the run's starting model when relpo train saved one beside the checkpoint.
  const initial = join(dirname(modelDir), 'initial-model');
  const referenceDir = flags.reference ? await fetchHubPath(String(flags.reference), 'model') : !flags.adapter && existsSync(join(initial, 'config.json')) ? initial : '';
  if (referenceDir && !flags.reference) say(`reference: ${referenceDir} (the run's starting model)\n`);
  const reference = referenceDir ? await r.loadPretrainedCausalLM(referenceDir, { device }) : undefined;
  try {
    if (flags.adapter) await r.loadLoraAdapter(policy, String(flags.adapter));
    const { metrics, samples } = await r.evaluatePreference({
      policy, ...(reference ? { reference } : {}), tokenizer, dataset, loss: choice.loss, lossConfig: choice.lossConfig, batchSize: Number(flags.batch), maxLength: Number(flags['max-length']),
      communicator: comm,
    });
    say(`${dataPath}: ${samples} ${dataset.paired ? 'pairs' : 'rows'}, loss ${choice.summary}\n`);
    for (const [k, v] of Object.entries(metrics)) say(`eval_${k} ${v.toFixed(6)}\n`);
  } finally {
    policy.dispose();
    reference?.dispose();
  }
}
