// LlamaConfig: the fields of a Hugging Face config.json that LlamaForCausalLM reads (LLaMA 1/2/3
// and Mistral, whose config adds sliding_window), with transformers' defaults and checks that name
// the field and the value.
import type { RopeScalingConfig } from './rope-config.js';

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

/** A config with every default filled in, as the model uses it. */
export interface ResolvedLlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** 0: none. */
  slidingWindow: number;
  attentionBias: boolean;
  mlpBias: boolean;
}

function positiveInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`LlamaConfig: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

export function resolveLlamaConfig(c: LlamaConfig): ResolvedLlamaConfig {
  const hiddenSize = positiveInt('hidden_size', c.hidden_size);
  const numHeads = positiveInt('num_attention_heads', c.num_attention_heads);
  const numKvHeads = positiveInt('num_key_value_heads', c.num_key_value_heads ?? numHeads);
  if (numHeads % numKvHeads !== 0) throw new Error(`LlamaConfig: num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  let headDim = c.head_dim ?? null;
  if (headDim === null) {
    if (hiddenSize % numHeads !== 0) throw new Error(`LlamaConfig: hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numHeads}) and head_dim is not given`);
    headDim = hiddenSize / numHeads;
  }
  positiveInt('head_dim', headDim);
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw new Error(`LlamaConfig: hidden_act '${act}' is not supported (only 'silu')`);
  const eps = c.rms_norm_eps ?? 1e-6;
  if (typeof eps !== 'number' || !(eps > 0)) throw new Error(`LlamaConfig: rms_norm_eps must be a positive number, got ${JSON.stringify(eps)}`);
  const window = c.sliding_window ?? 0;
  if (window !== 0) positiveInt('sliding_window', window);
  return {
    vocabSize: positiveInt('vocab_size', c.vocab_size),
    hiddenSize,
    intermediateSize: positiveInt('intermediate_size', c.intermediate_size),
    numLayers: positiveInt('num_hidden_layers', c.num_hidden_layers),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: eps,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    slidingWindow: window,
    attentionBias: c.attention_bias ?? false,
    mlpBias: c.mlp_bias ?? false,
  };
}
