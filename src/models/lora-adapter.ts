// LoRA adapters in PEFT's folder format, so an adapter trained here loads with
// PeftModel.from_pretrained and one trained with PEFT loads here: adapter_config.json (peft_type
// LORA, r, lora_alpha, target_modules, …) and adapter_model.safetensors with tensors named
// base_model.model.<layer path>.lora_A.weight / lora_B.weight.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import { applyLora, loraLayers } from '../nn/lora.js';
import { loadSafetensors } from '../io/safetensors/load.js';
import { saveSafetensors } from '../io/safetensors/save.js';

const PREFIX = 'base_model.model.';

/** Writes the model's LoRA layers as a PEFT adapter folder. */
export async function saveLoraAdapter(model: Module, dir: string, baseModel = ''): Promise<void> {
  const layers = loraLayers(model);
  if (layers.length === 0) throw new Error('saveLoraAdapter: the model has no LoRA layers (applyLora first)');
  const { r, alpha, dropout } = layers[0][1];
  const tensors = new Map<string, Tensor>();
  for (const [path, l] of layers) {
    tensors.set(`${PREFIX}${path}.lora_A.weight`, l.lora_A.weight);
    tensors.set(`${PREFIX}${path}.lora_B.weight`, l.lora_B.weight);
  }
  await mkdir(dir, { recursive: true });
  await saveSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
  const config = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: baseModel, r, lora_alpha: alpha, lora_dropout: dropout, bias: 'none',
    fan_in_fan_out: false, inference_mode: true, target_modules: [...new Set(layers.map(([p]) => p.split('.').at(-1)!))].sort(),
  };
  await writeFile(join(dir, 'adapter_config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** Applies the adapter of a PEFT folder to a (plain) model: LoRA layers as its config says, then its weights. */
export async function loadLoraAdapter(model: Module, dir: string): Promise<void> {
  const configPath = join(dir, 'adapter_config.json');
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${configPath}: ${(e as Error).message}`);
  }
  if (config.peft_type !== 'LORA') throw new Error(`${configPath}: peft_type ${JSON.stringify(config.peft_type)} is not LORA`);
  if (config.use_dora || config.use_rslora) throw new Error(`${configPath}: DoRA and rsLoRA adapters are not supported`);
  const targets = config.target_modules;
  if (!Array.isArray(targets)) throw new Error(`${configPath}: target_modules must be a list of layer names (got ${JSON.stringify(targets)})`);
  applyLora(model, { r: Number(config.r), alpha: Number(config.lora_alpha), targetModules: targets.map(String), dropout: Number(config.lora_dropout ?? 0) });
  await loadLoraWeights(model, dir);
}

/** Copies adapter_model.safetensors of a PEFT folder into the model's (existing) LoRA layers. */
export async function loadLoraWeights(model: Module, dir: string): Promise<void> {
  const weightsPath = join(dir, 'adapter_model.safetensors');
  const loaded = await loadSafetensors(weightsPath, { device: model.device, dtype: model.parameters()[0].dtype as 'float32' | 'float64' });
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
