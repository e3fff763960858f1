// The architectures relpo ships, registered under their config.json model_type.
import { registerArchitecture } from './architectures.js';
import { LlamaForCausalLM } from './llama.js';
import { Qwen2ForCausalLM } from './qwen2.js';
import { Gemma2ForCausalLM } from './gemma2.js';
import type { LlamaConfig } from './llama-config.js';
import type { Qwen2Config } from './qwen2-config.js';
import type { Gemma2Config } from './gemma2-config.js';

registerArchitecture('llama', { architectures: ['LlamaForCausalLM'], build: (c, o) => new LlamaForCausalLM(c as LlamaConfig, o) });
registerArchitecture('mistral', { architectures: ['MistralForCausalLM'], build: (c, o) => new LlamaForCausalLM({ model_type: 'mistral', ...c } as LlamaConfig, o) });
registerArchitecture('qwen2', { architectures: ['Qwen2ForCausalLM'], build: (c, o) => new Qwen2ForCausalLM(c as Qwen2Config, o) });
registerArchitecture('gemma2', { architectures: ['Gemma2ForCausalLM'], build: (c, o) => new Gemma2ForCausalLM(c as Gemma2Config, o) });
