// Gemma2Config: the fields of a Hugging Face config.json that Gemma2ForCausalLM reads, with
// transformers' defaults (configuration_gemma2.py): GeGLU with the tanh GELU, attention scaled by
// query_pre_attn_scalar^-½, soft-capped scores and logits, a sliding window on every other layer,
// tied embeddings (real configs omit tie_word_embeddings).
import type { LlamaConfig } from './llama-config.js';
import { ConfigReader, type ResolvedDecoderConfig } from './decoder-config.js';

export interface Gemma2Config extends LlamaConfig {
  /** Default 'gelu_pytorch_tanh' (the only one supported). */
  hidden_activation?: string;
  /** Default 256: scores are q·k · query_pre_attn_scalar^-½. */
  query_pre_attn_scalar?: number;
  /** Default 50; null: no cap. */
  attn_logit_softcapping?: number | null;
  /** Default 30; null: no cap. */
  final_logit_softcapping?: number | null;
  /** Default 4096. */
  sliding_window?: number | null;
  /** Per layer 'full_attention' or 'sliding_attention'; default: layers 0, 2, 4, … slide. */
  layer_types?: string[];
}

export function resolveGemma2Config(c: Gemma2Config): ResolvedDecoderConfig {
  const r = new ConfigReader('Gemma2Config', c);
  const sizes = r.decoderSizes({ vocab_size: 256000, intermediate_size: 9216, num_hidden_layers: 26 });
  const numLayers = sizes.numLayers;
  const window = r.optionalPositive('sliding_window', 4096);
  // transformers: "sliding_attention" if bool((i + 1) % 2) else "full_attention".
  const layerWindows = r.layerTypes(numLayers, window) ?? Array.from({ length: numLayers }, (_, i) => ((i + 1) % 2 ? window : 0));
  const bias = r.bool('attention_bias', false);
  if (c.hidden_act !== undefined && c.hidden_activation === undefined && c.hidden_act !== 'gelu_pytorch_tanh') {
    r.fail(`hidden_act '${String(c.hidden_act)}' is not supported; Gemma-2's MLP reads hidden_activation ('gelu_pytorch_tanh')`);
  }
  return {
    ...sizes,
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    layerWindows,
    qkvBias: bias,
    outputBias: bias,
    mlpBias: false,
    activation: r.oneOf('hidden_activation', { gelu_pytorch_tanh: 'gelu_tanh' }, 'gelu_pytorch_tanh'),
    attentionScale: r.positiveNumber('query_pre_attn_scalar', 256) ** -0.5,
    attnSoftcap: r.optionalPositive('attn_logit_softcapping', 50),
    finalSoftcap: r.optionalPositive('final_logit_softcapping', 30),
    scaleEmbeddings: true,
  };
}
