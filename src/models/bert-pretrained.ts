// A BertModel from a Hugging Face checkpoint folder (config.json and safetensors weights, one file
// or shards): the model is built from the config, the tensors loaded and copied in, names and
// shapes checked. A "bert."-prefixed checkpoint (BertForMaskedLM, …) loads its encoder.
import { type CheckpointSource, readCheckpointConfig, readCheckpointIndex, sourceFile, sourceName } from '../io/checkpoint.js';
import { loadWeightsInto } from './load-weights.js';
import { BertModel, type BertInitOptions } from './bert.js';
import type { BertConfig } from './bert-config.js';

export const BERT_MODEL_TYPES = ['bert'];

/** A BERT checkpoint folder, or the same files from a FileSource (a URL, a page's files). */
export async function loadPretrainedBert(source: CheckpointSource, opts: Omit<BertInitOptions, 'seed' | 'initStd' | 'addPoolingLayer'> = {}): Promise<BertModel> {
  const dir = sourceName(source);
  const configPath = sourceFile(source, 'config.json');
  const config = await readCheckpointConfig(source);
  if (!BERT_MODEL_TYPES.includes(String(config['model_type']))) {
    throw new Error(`${configPath}: model_type ${JSON.stringify(config['model_type'])} is not one BertModel implements (${BERT_MODEL_TYPES.join(', ')})`);
  }
  // The pooler is built when the checkpoint has one (sentence-transformers' all-MiniLM-L6-v2
  // does; encoders saved without it load too).
  const index = await readCheckpointIndex(source);
  const addPoolingLayer = [...index.weightMap.keys()].some((n) => n === 'pooler.dense.weight' || n === 'bert.pooler.dense.weight');
  let model: BertModel;
  try {
    model = new BertModel(config as BertConfig, { ...opts, initStd: 0, addPoolingLayer });
  } catch (e) {
    throw new Error(`${configPath}: ${(e as Error).message}`, { cause: e });
  }
  return loadWeightsInto(model, source, opts, (e) => new Error(`${dir}: ${e.message}`, { cause: e }));
}
