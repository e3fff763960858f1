// src/models: LLaMA / Mistral with Hugging Face names and numerics.
import '../nn/index.js';
import '../kernels/activation/index.js';
import '../kernels/attention/index.js';
import '../kernels/rope/index.js';
export { LlamaForCausalLM, type LlamaInitOptions, type LlamaForwardOptions } from './llama.js';
export { resolveLlamaConfig, type LlamaConfig, type ResolvedLlamaConfig } from './llama-config.js';
export { loadPretrainedLlama, savePretrainedLlama, LLAMA_ARCHITECTURES, LLAMA_MODEL_TYPES } from './pretrained.js';
