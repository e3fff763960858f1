// src/nn: Module (named parameters, state dicts), Linear, Embedding, RMSNorm, LayerNorm, LoRA.
import '../kernels/matmul/index.js';
import '../kernels/elementwise/index.js';
import '../kernels/gather/index.js';
import '../kernels/norm/index.js';
import '../kernels/copy/index.js';
import '../kernels/bfloat16/index.js';
import '../kernels/nf4/index.js';
export { Module, ModuleList, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export { Linear, gatedLinear, linearGroup, swigluLinear, type LinearOptions, type WeightStorage } from './linear.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { RMSNorm } from './rms-norm.js';
export { LayerNorm } from './layer-norm.js';
export { LoRALinear, applyLora, mergeLora, loraLayers, withAdaptersDisabled, type LoraOptions } from './lora.js';
export { ParamRng, normalParam, constantParam, type ParamOptions, type FloatDType } from './init.js';
export { storeFrozenWeightsInBfloat16, storeFrozenWeightsInNf4, type WeightConversion } from './low-precision-weights.js';
