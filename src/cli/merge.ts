// `relpo merge`: fold a LoRA adapter into its base model and save an ordinary checkpoint (PEFT's
// merge_and_unload, then save_pretrained), with the base's tokenizer files beside it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as r from '../index.js';
import { fetchHubPath } from '../io/hub-cache.js';
import type { FlagSpec, Flags } from './args.js';
import { copyTokenizerFiles } from '../io/tokenizer.js';

export const MERGE_FLAGS: FlagSpec[] = [
  { name: 'model', help: "the base checkpoint folder (LLaMA/Mistral) or hub id; empty: the adapter's base_model_name_or_path", default: '' },
  { name: 'force', help: 'merge even when the adapter records another base (relpo_base.json)', default: false },
  { name: 'adapter', help: 'the LoRA adapter folder (PEFT format, e.g. relpo train --lora-r ... /checkpoint)', default: 'runs/relpo-train/checkpoint' },
  { name: 'out', help: 'where the merged checkpoint goes', default: 'runs/relpo-merge' },
  { name: 'device', help: 'webgpu, cpu or auto (RELPO_DEVICE)', default: '', check: { choices: ['', 'webgpu', 'cpu', 'auto'] } },
];

export async function runMerge(flags: Flags): Promise<void> {
  const adapterDir = String(flags.adapter), out = String(flags.out);
  if (!existsSync(join(adapterDir, 'adapter_config.json'))) throw new Error(`relpo merge: no adapter at ${adapterDir} (no adapter_config.json)`);
  // The base: --model, else the one the adapter names.
  const named = String((JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8')) as { base_model_name_or_path?: string }).base_model_name_or_path ?? '');
  const modelDir = await fetchHubPath(String(flags.model) || named, 'model');
  if (!modelDir) throw new Error(`relpo merge: --model (the base checkpoint folder) is required: ${adapterDir}/adapter_config.json names no base`);
  const device = await r.init(flags.device ? { device: flags.device as r.DeviceChoice } : {});
  const model = await r.loadPretrainedCausalLM(modelDir, { device });
  try {
    await r.checkAdapterBase(model, adapterDir, modelDir, Boolean(flags.force));
    await r.loadLoraAdapter(model, adapterDir);
    const layers = r.loraLayers(model).length;
    r.mergeLora(model);
    await r.savePretrainedCausalLM(model, out);
    const copied = copyTokenizerFiles(modelDir, out, ['generation_config.json']);
    process.stdout.write(`merged ${layers} LoRA layers of ${adapterDir} into ${modelDir} → ${out}${copied.length ? ` (with ${copied.join(', ')})` : ''}\n`);
  } finally {
    model.dispose();
  }
}
