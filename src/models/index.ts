// src/models: LLaMA / Mistral and BERT (the sentence embedder) with Hugging Face names and numerics.
import '../nn/index.js';
import '../kernels/activation/index.js';
import '../kernels/dropout/index.js';
import '../kernels/attention/index.js';
import '../kernels/rope/index.js';
export { LlamaForCausalLM, LlamaCache, LayerCache, type LlamaInitOptions, type LlamaForwardOptions } from './llama.js';
export { ropeFrequencies, ropeInvFreqTensor, type RopeConfig, type RopeScalingConfig, type RopeFrequencies } from './rope-config.js';
export { resolveLlamaConfig, type LlamaConfig, type ResolvedLlamaConfig } from './llama-config.js';
export { loadPretrainedLlama, savePretrainedLlama, LLAMA_ARCHITECTURES, LLAMA_MODEL_TYPES } from './pretrained.js';
export { BertModel, lengthsTensor, type BertInitOptions, type BertForwardOptions } from './bert.js';
export { resolveBertConfig, type BertConfig, type ResolvedBertConfig } from './bert-config.js';
export { loadPretrainedBert, BERT_MODEL_TYPES } from './bert-pretrained.js';
export { saveLoraAdapter, loadLoraAdapter, loadLoraWeights } from './lora-adapter.js';
export {
  SentenceEmbedder, loadSentenceEmbedder, meanPool, l2Normalize, readSentenceTransformersSetup,
  type SentenceEmbedderOptions, type LoadSentenceEmbedderOptions, type SentencePooling,
} from './sentence-embedder.js';
export { baseFingerprint, checkAdapterBase, readAdapterBase, writeAdapterBase, BASE_FILE, type AdapterBase } from './adapter-base.js';
