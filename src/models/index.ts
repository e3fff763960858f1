// src/models: the causal LM architectures (a registry: LLaMA, Mistral, Qwen2, Gemma-2) and BERT
// (the sentence embedder), with Hugging Face names and numerics.
import '../nn/index.js';
import '../kernels/activation/index.js';
import '../kernels/dropout/index.js';
import '../kernels/attention/index.js';
import '../kernels/rope/index.js';
export { type CausalLM, type CausalLMForwardOptions, type CausalLMForwardOptions as LlamaForwardOptions, DecoderForCausalLM, type DecoderSpec } from './causal-lm.js';
export { KVCache, LlamaCache, LayerCache } from './kv-cache.js';
export { DecoderAttention, GatedMLP, type DecoderInitOptions, type DecoderShared, type LayerInputs } from './decoder-blocks.js';
export { DecoderModel, addNorm, type DecoderLayer } from './decoder-model.js';
export { ConfigReader, type ResolvedDecoderConfig, type ResolvedDecoderConfig as ResolvedLlamaConfig } from './decoder-config.js';
export { ropeFrequencies, ropeInvFreqTensor, type RopeConfig, type RopeScalingConfig, type RopeFrequencies } from './rope-config.js';
export { LlamaForCausalLM, LlamaDecoderLayer, llamaDecoder, type LlamaInitOptions } from './llama.js';
export { resolveLlamaConfig, type LlamaConfig } from './llama-config.js';
export { Qwen2ForCausalLM } from './qwen2.js';
export { resolveQwen2Config, type Qwen2Config } from './qwen2-config.js';
export { Gemma2ForCausalLM, Gemma2DecoderLayer } from './gemma2.js';
export { resolveGemma2Config, type Gemma2Config } from './gemma2-config.js';
export { registerArchitecture, unregisterArchitecture, listArchitectures, architectureOf, createCausalLM, type ArchitectureEntry, type RegisteredArchitecture } from './architectures.js';
import './builtin-architectures.js';
export { loadPretrainedCausalLM, savePretrainedCausalLM, loadPretrainedLlama, savePretrainedLlama, type PretrainedOptions } from './pretrained.js';
export { BertModel, lengthsTensor, type BertInitOptions, type BertForwardOptions } from './bert.js';
export { resolveBertConfig, type BertConfig, type ResolvedBertConfig } from './bert-config.js';
export { loadPretrainedBert, BERT_MODEL_TYPES } from './bert-pretrained.js';
export { saveLoraAdapter, adapterFiles, loadLoraAdapter, loadLoraWeights, ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from './lora-adapter.js';
export {
  SentenceEmbedder, loadSentenceEmbedder, meanPool, l2Normalize, readSentenceTransformersSetup,
  type SentenceEmbedderOptions, type LoadSentenceEmbedderOptions, type SentencePooling,
} from './sentence-embedder.js';
export { baseFingerprint, checkAdapterBase, readAdapterBase, writeAdapterBase, adapterBaseText, BASE_FILE, type AdapterBase } from './adapter-base.js';
