// A model from a Hugging Face checkpoint folder: config.json → the architecture, the weights (one
// file or shards) → its parameters, with the names and shapes checked.
import { join } from 'node:path';
import { readCheckpointConfig } from '../io/checkpoint.js';
import { loadWeightsInto, streamWeightsInto } from './load-weights.js';
import { saveCheckpoint, type SaveCheckpointOptions } from '../io/checkpoint-save.js';
import { LlamaForCausalLM, type LlamaInitOptions } from './llama.js';
import type { LlamaConfig } from './llama-config.js';

/** The architectures LlamaForCausalLM implements (config.json's "architectures" / "model_type"). */
export const LLAMA_ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM'];
export const LLAMA_MODEL_TYPES = ['llama', 'mistral'];

/**
 * Loads a LLaMA or Mistral checkpoint folder (as transformers saves one). The model is built from
 * config.json (zero-filled weights, then replaced), the tensors are loaded across shards and copied
 * in; a missing, unexpected or mis-shaped tensor is an error naming it, and nothing is left allocated.
 * opts.linearStorage 'bfloat16' or 'nf4' holds every Linear weight frozen in that form (a QLoRA
 * base: applyLora next), streamed in tensor by tensor.
 */
export async function loadPretrainedLlama(dir: string, opts: Omit<LlamaInitOptions, 'seed' | 'initStd'> = {}): Promise<LlamaForCausalLM> {
  const configPath = join(dir, 'config.json');
  const config = await readCheckpointConfig(dir);
  const archs = Array.isArray(config['architectures']) ? (config['architectures'] as unknown[]) : [];
  const known = archs.some((a) => LLAMA_ARCHITECTURES.includes(String(a))) || LLAMA_MODEL_TYPES.includes(String(config['model_type']));
  if (!known) {
    throw new Error(`${configPath}: model_type ${JSON.stringify(config['model_type'])} / architectures ${JSON.stringify(archs)} is not one relpo implements (${LLAMA_ARCHITECTURES.join(', ')})`);
  }
  let model: LlamaForCausalLM;
  try {
    // initStd 0: parameters are zero-filled on the device (no host sampling), then replaced.
    model = new LlamaForCausalLM(config as unknown as LlamaConfig, { ...opts, initStd: 0 });
  } catch (e) {
    throw new Error(`${configPath}: ${(e as Error).message}`, { cause: e });
  }
  // Weights held at lower precision stream in one tensor at a time (a 7B QLoRA base never exists
  // in float32); float models load whole, then copy (every name and shape checked before any change).
  try {
    if (opts.linearStorage && opts.linearStorage !== 'float32') return await streamWeightsInto(model, dir, { ...opts, ignore: (n) => n.endsWith('.rotary_emb.inv_freq') });
    return await loadWeightsInto(model, dir, opts);
  } catch (e) {
    // (Both loaders have disposed the model.) A config that does not match the weights, or a bad
    // weights file: say which checkpoint.
    const msg = (e as Error).message;
    throw msg.includes(dir) ? e : new Error(`${dir}: its weights do not load into the model its config.json describes: ${msg}`, { cause: e });
  }
}

/** Writes the model as a checkpoint folder (config.json and safetensors weights) that loadPretrainedLlama reads back. */
export async function savePretrainedLlama(model: LlamaForCausalLM, dir: string, opts: SaveCheckpointOptions = {}): Promise<void> {
  // A model built from a bare config still saves a folder that says what it is (transformers and
  // loadPretrainedLlama read architectures / model_type).
  const config = { architectures: ['LlamaForCausalLM'], model_type: 'llama', ...model.config };
  await saveCheckpoint(dir, model.stateDict(), config, opts);
}
