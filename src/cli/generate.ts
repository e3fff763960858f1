// `relpo generate`: continue a prompt with a LLaMA checkpoint, by default the one `relpo train`
// wrote (runs/relpo-train/checkpoint), greedy or sampled.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as r from '../index.js';
import type { FlagSpec, Flags } from './args.js';
import { checkpointTokenizer } from './defaults.js';

export const GENERATE_FLAGS: FlagSpec[] = [
  { name: 'model', help: 'checkpoint folder (LLaMA/Mistral)', default: 'runs/relpo-train/checkpoint' },
  { name: 'tokenizer', help: "tokenizer.json or its folder; empty: the model's, else the LLaMA-family one relpo train uses", default: '' },
  { name: 'adapter', help: 'a LoRA adapter folder (PEFT format, e.g. a relpo train --lora-r checkpoint) to apply to --model', default: '' },
  { name: 'prompt', help: 'the text to continue', default: 'The sky is' },
  { name: 'max-new-tokens', help: 'tokens to add at most', default: 32 },
  { name: 'temperature', help: '0: greedy; above 0: sampled', default: 0 },
  { name: 'top-k', help: 'sample among the k most likely tokens (0: all)', default: 0 },
  { name: 'top-p', help: 'sample among the most likely tokens holding this probability', default: 1 },
  { name: 'seed', help: 'sampling seed', default: 0 },
  { name: 'device', help: 'webgpu, cpu or auto (RELPO_DEVICE)', default: '' },
];

export async function runGenerate(flags: Flags): Promise<void> {
  const modelDir = String(flags.model);
  if (!existsSync(join(modelDir, 'config.json'))) {
    throw new Error(`relpo generate: no checkpoint at ${modelDir} (no config.json); run \`npm run train\` first or pass --model`);
  }
  const device = await r.init(flags.device ? { device: flags.device as r.DeviceChoice } : {});
  const tokenizer = await r.loadTokenizer(checkpointTokenizer(String(flags.tokenizer), modelDir));
  const model = await r.loadPretrainedLlama(modelDir, { device });
  try {
    if (flags.adapter) await r.loadLoraAdapter(model, String(flags.adapter));
    const [text] = await r.generateText(model, tokenizer, [String(flags.prompt)], {
      maxNewTokens: Number(flags['max-new-tokens']),
      temperature: Number(flags.temperature),
      topK: Number(flags['top-k']),
      topP: Number(flags['top-p']),
      seed: Number(flags.seed),
    });
    process.stdout.write(`${String(flags.prompt)}${text}\n`);
  } finally {
    model.dispose();
  }
}
