// LoRA adapters in PEFT's folder format, so an adapter trained here loads with
// PeftModel.from_pretrained and one trained with PEFT loads here: adapter_config.json (peft_type
// LORA, r, lora_alpha, target_modules, …) and adapter_model.safetensors with tensors named
// base_model.model.<layer path>.lora_A.weight / lora_B.weight.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import { applyLora, loraLayers } from '../nn/lora.js';
import { CheckpointFiles, type CheckpointSource, readSourceJson, sourceFile } from '../io/checkpoint.js';
import { saveSafetensors } from '../io/safetensors/save.js';
import { safetensorsBytes } from '../io/safetensors/serialize.js';
import { type AdapterBase, BASE_FILE, adapterBaseText } from './adapter-base.js';

const PREFIX = 'base_model.model.';
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** The adapter's tensors under PEFT's names, and the text of its adapter_config.json. */
function peftAdapter(model: Module, baseModel: string, caller: string): { tensors: Map<string, Tensor>; configText: string } {
  const layers = loraLayers(model);
  if (layers.length === 0) throw new Error(`${caller}: the model has no LoRA layers (applyLora first)`);
  const { r, alpha, dropout } = layers[0][1];
  const tensors = new Map<string, Tensor>();
  for (const [path, l] of layers) {
    tensors.set(`${PREFIX}${path}.lora_A.weight`, l.lora_A.weight);
    tensors.set(`${PREFIX}${path}.lora_B.weight`, l.lora_B.weight);
  }
  const config = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: baseModel, r, lora_alpha: alpha, lora_dropout: dropout, bias: 'none',
    fan_in_fan_out: false, inference_mode: true, target_modules: [...new Set(layers.map(([p]) => p.split('.').at(-1)!))].sort(),
  };
  return { tensors, configText: `${JSON.stringify(config, null, 2)}\n` };
}

/** Writes the model's LoRA layers as a PEFT adapter folder. */
export async function saveLoraAdapter(model: Module, dir: string, baseModel = ''): Promise<void> {
  const { tensors, configText } = peftAdapter(model, baseModel, 'saveLoraAdapter');
  await mkdir(dir, { recursive: true });
  await saveSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), tensors);
  await writeFile(join(dir, ADAPTER_CONFIG_FILE), configText);
}

/**
 * The files saveLoraAdapter writes (and, given the base's record, writeAdapterBase's), as bytes by
 * file name, with no file system: for a download, browser storage or memorySource. `base` is the
 * base's name (adapter_config.json's base_model_name_or_path) or its record (relpo_base.json too).
 */
export async function adapterFiles(model: Module, base: string | AdapterBase = ''): Promise<Map<string, Uint8Array>> {
  const record = typeof base === 'string' ? undefined : base;
  const { tensors, configText } = peftAdapter(model, record ? record.base_model_name_or_path : (base as string), 'adapterFiles');
  const text = new TextEncoder();
  const files = new Map<string, Uint8Array>([
    [ADAPTER_CONFIG_FILE, text.encode(configText)],
    [ADAPTER_WEIGHTS_FILE, await safetensorsBytes(tensors, undefined, ADAPTER_WEIGHTS_FILE)],
  ]);
  if (record) files.set(BASE_FILE, text.encode(adapterBaseText(record)));
  return files;
}

/**
 * Applies the adapter of a PEFT folder (or the same files from a FileSource) to a (plain) model:
 * LoRA layers as its config says, then its weights.
 */
export async function loadLoraAdapter(model: Module, source: CheckpointSource): Promise<void> {
  const configPath = sourceFile(source, ADAPTER_CONFIG_FILE);
  const config = await readSourceJson(source, ADAPTER_CONFIG_FILE);
  if (config.peft_type !== 'LORA') throw new Error(`${configPath}: peft_type ${JSON.stringify(config.peft_type)} is not LORA`);
  if (config.use_dora || config.use_rslora) throw new Error(`${configPath}: DoRA and rsLoRA adapters are not supported`);
  const targets = config.target_modules;
  if (!Array.isArray(targets)) throw new Error(`${configPath}: target_modules must be a list of layer names (got ${JSON.stringify(targets)})`);
  applyLora(model, { r: Number(config.r), alpha: Number(config.lora_alpha), targetModules: targets.map(String), dropout: Number(config.lora_dropout ?? 0) });
  await loadLoraWeights(model, source);
}

/** Copies adapter_model.safetensors of a PEFT folder (or FileSource) into the model's (existing) LoRA layers. */
export async function loadLoraWeights(model: Module, source: CheckpointSource): Promise<void> {
  const weightsPath = sourceFile(source, ADAPTER_WEIGHTS_FILE);
  const loaded = await new CheckpointFiles(source).load(ADAPTER_WEIGHTS_FILE, { device: model.device, dtype: model.parameters()[0].dtype as 'float32' | 'float64' });
  try {
    for (const [path, l] of loraLayers(model)) {
      for (const side of ['lora_A', 'lora_B'] as const) {
        // PEFT saves without the adapter name; some versions keep ".default".
        const t = loaded.get(`${PREFIX}${path}.${side}.weight`) ?? loaded.get(`${PREFIX}${path}.${side}.default.weight`);
        if (!t) throw new Error(`${weightsPath}: no tensor for ${PREFIX}${path}.${side}.weight`);
        try {
          l[side].loadStateDict({ weight: t });
        } catch (e) {
          throw new Error(`${weightsPath}: ${PREFIX}${path}.${side}.weight: ${(e as Error).message}`);
        }
      }
    }
  } finally {
    for (const t of loaded.values()) t.dispose();
  }
}
