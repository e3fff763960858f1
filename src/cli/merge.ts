// `relpo merge`: fold a LoRA adapter into its base model and save an ordinary checkpoint (PEFT's
// merge_and_unload, then save_pretrained), with the base's tokenizer files beside it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as r from '../index.js';
import { fetchHubPath } from '../io/hub-cache.js';
import type { FlagSpec, Flags } from './args.js';
import { copyTokenizerFiles } from '../io/tokenizer.js';

export const MERGE_FLAGS: FlagSpec[] = [
  { name: 'model', help: 'the base checkpoint folder (LLaMA/Mistral)', default: '' },
  { name: 'adapter', help: 'the LoRA adapter folder (PEFT format, e.g. relpo train --lora-r ... /checkpoint)', default: 'runs/relpo-train/checkpoint' },
  { name: 'out', help: 'where the merged checkpoint goes', default: 'runs/relpo-merge' },
  { name: 'device', help: 'webgpu, cpu or auto (RELPO_DEVICE)', default: '', check: { choices: ['', 'webgpu', 'cpu', 'auto'] } },
];

export async function runMerge(flags: Flags): Promise<void> {
  const modelDir = await fetchHubPath(String(flags.model), 'model'), adapterDir = String(flags.adapter), out = String(flags.out);
  if (!modelDir) throw new Error('relpo merge: --model (the base checkpoint folder) is required');
  if (!existsSync(join(adapterDir, 'adapter_config.json'))) throw new Error(`relpo merge: no adapter at ${adapterDir} (no adapter_config.json)`);
  const device = await r.init(flags.device ? { device: flags.device as r.DeviceChoice } : {});
  const model = await r.loadPretrainedLlama(modelDir, { device });
  try {
    await r.loadLoraAdapter(model, adapterDir);
    const layers = r.loraLayers(model).length;
    r.mergeLora(model);
    await r.savePretrainedLlama(model, out);
    const copied = copyTokenizerFiles(modelDir, out, ['generation_config.json']);
    process.stdout.write(`merged ${layers} LoRA layers of ${adapterDir} into ${modelDir} → ${out}${copied.length ? ` (with ${copied.join(', ')})` : ''}\n`);
  } finally {
    model.dispose();
  }
}
