// A model from a Hugging Face checkpoint folder: config.json → the architecture (through the
// registry), the weights (one file or shards) → its parameters, with the names and shapes checked.
import { type CheckpointSource, readCheckpointConfig, sourceFile, sourceName } from '../io/checkpoint.js';
import { loadWeightsInto, streamWeightsInto } from './load-weights.js';
import { saveCheckpoint, type SaveCheckpointOptions } from '../io/checkpoint-save.js';
import { type CausalLM, isIgnoredOnLoad } from './causal-lm.js';
import type { DecoderInitOptions } from './decoder-blocks.js';
import { architectureOf } from './architectures.js';
import './builtin-architectures.js';

export type PretrainedOptions = Omit<DecoderInitOptions, 'seed' | 'initStd'>;

/**
 * Loads a checkpoint folder (as transformers saves one), or the same files from a FileSource (a
 * URL, a page's files), of any registered architecture, chosen by config.json's model_type /
 * architectures (an unknown one is an error listing the registered).
 * The model is built from config.json (zero-filled weights, then replaced), the tensors are loaded
 * across shards and copied in; a missing, unexpected or mis-shaped tensor is an error naming it,
 * and nothing is left allocated. opts.linearStorage 'bfloat16' or 'nf4' holds every Linear weight
 * frozen in that form (a QLoRA base: applyLora next), streamed in tensor by tensor.
 */
export async function loadPretrainedCausalLM(source: CheckpointSource, opts: PretrainedOptions = {}): Promise<CausalLM> {
  const dir = sourceName(source);
  const configPath = sourceFile(source, 'config.json');
  const config = await readCheckpointConfig(source);
  const arch = architectureOf(config, configPath);
  let model: CausalLM;
  try {
    // initStd 0: parameters are zero-filled on the device (no host sampling), then replaced.
    model = arch.build(config, { ...opts, initStd: 0 });
  } catch (e) {
    throw new Error(`${configPath}: ${(e as Error).message}`, { cause: e });
  }
  // Weights held at lower precision stream in one tensor at a time (a 7B QLoRA base never exists
  // in float32); float models load whole, then copy (every name and shape checked before any change).
  try {
    if (opts.linearStorage && opts.linearStorage !== 'float32') return await streamWeightsInto(model, source, { ...opts, ignore: isIgnoredOnLoad });
    return await loadWeightsInto(model, source, opts);
  } catch (e) {
    // (Both loaders have disposed the model.) A config that does not match the weights, or a bad
    // weights file: say which checkpoint.
    const msg = (e as Error).message;
    throw msg.includes(dir) ? e : new Error(`${dir}: its weights do not load into the model its config.json describes: ${msg}`, { cause: e });
  }
}

/** Writes the model as a checkpoint folder (config.json and safetensors weights) that loadPretrainedCausalLM reads back. */
export async function savePretrainedCausalLM(model: CausalLM, dir: string, opts: SaveCheckpointOptions = {}): Promise<void> {
  // A model built from a bare config still saves a folder that says what it is (transformers and
  // loadPretrainedCausalLM read architectures / model_type).
  const config = { architectures: [model.architecture], model_type: model.modelType, ...model.config };
  await saveCheckpoint(dir, model.stateDict(), config, opts);
}

/** loadPretrainedCausalLM under the name it had when LLaMA was the only architecture. */
export const loadPretrainedLlama = loadPretrainedCausalLM;
/** savePretrainedCausalLM under the name it had when LLaMA was the only architecture. */
export const savePretrainedLlama = savePretrainedCausalLM;
