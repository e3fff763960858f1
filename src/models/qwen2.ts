// Qwen2ForCausalLM (Qwen2, Qwen2.5) as transformers' modeling_qwen2.py computes it: LLaMA's decoder
// layer (llama.ts) with biases on q/k/v_proj and each layer's window from qwen2-config.ts.
import { DecoderForCausalLM } from './causal-lm.js';
import type { DecoderInitOptions } from './decoder-blocks.js';
import { type LlamaDecoderLayer, llamaDecoder } from './llama.js';
import { type Qwen2Config, resolveQwen2Config } from './qwen2-config.js';

export class Qwen2ForCausalLM extends DecoderForCausalLM<LlamaDecoderLayer> {
  declare readonly config: Qwen2Config;

  constructor(config: Qwen2Config, opts: DecoderInitOptions = {}) {
    const resolved = resolveQwen2Config(config);
    super(config, { architecture: 'Qwen2ForCausalLM', modelType: 'qwen2', resolved, decoder: llamaDecoder(resolved, opts) }, opts);
  }
}
