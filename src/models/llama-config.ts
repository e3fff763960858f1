// LlamaConfig: the fields of a Hugging Face config.json that LlamaForCausalLM reads (LLaMA 1/2/3
// and Mistral, whose config adds sliding_window), with transformers' defaults and checks that name
// the field and the value.
import type { RopeScalingConfig } from './rope-config.js';
import { ConfigReader, type ResolvedDecoderConfig } from './decoder-config.js';

export interface LlamaConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Defaults to num_attention_heads (no grouped-query attention). */
  num_key_value_heads?: number;
  /** Defaults to hidden_size / num_attention_heads. */
  head_dim?: number | null;
  /** Default 1e-6. */
  rms_norm_eps?: number;
  /** Default 10000. */
  rope_theta?: number;
  rope_scaling?: RopeScalingConfig | null;
  partial_rotary_factor?: number;
  max_position_embeddings?: number;
  /** Default false: lm_head.weight is its own tensor. When true, logits use model.embed_tokens.weight. */
  tie_word_embeddings?: boolean;
  /** Mistral: each query sees at most this many keys (itself included). null/absent: no window. */
  sliding_window?: number | null;
  /** Bias on q/k/v/o_proj (default false). */
  attention_bias?: boolean;
  /** Bias on gate/up/down_proj (default false). */
  mlp_bias?: boolean;
  /** Only "silu" is supported. */
  hidden_act?: string;
  model_type?: string;
  architectures?: string[];
  [key: string]: unknown;
}

/** A LLaMA / Mistral config.json with transformers' defaults filled in; errors name the field. */
export function resolveLlamaConfig(c: LlamaConfig): ResolvedDecoderConfig {
  const r = new ConfigReader('LlamaConfig', c);
  const sizes = r.decoderSizes();
  const bias = r.bool('attention_bias', false);
  const window = r.optionalPositive('sliding_window');
  if (window !== 0) r.positiveInt('sliding_window');
  return {
    ...sizes,
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    layerWindows: new Array<number>(sizes.numLayers).fill(window),
    qkvBias: bias,
    outputBias: bias,
    mlpBias: r.bool('mlp_bias', false),
    activation: r.oneOf('hidden_act', { silu: 'silu' }, 'silu'),
    attentionScale: 1 / Math.sqrt(sizes.headDim),
    attnSoftcap: 0,
    finalSoftcap: 0,
    scaleEmbeddings: false,
  };
}
