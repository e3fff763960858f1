// What a decoder-only causal LM computes, whatever its architecture: the sizes, and the switches by
// which LLaMA, Mistral, Qwen2 and Gemma-2 differ. Each architecture's config adapter
// (llama-config.ts, qwen2-config.ts, gemma2-config.ts) reads its Hugging Face config.json into this,
// with transformers' defaults, and the shared blocks (decoder-blocks.ts, decoder-model.ts) read
// only this.

import type { GatedActivation } from '../kernels/activation/contract.js';

export interface ResolvedDecoderConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** Each layer's sliding window (0: none): a query sees keys j with i − window < j ≤ i. */
  layerWindows: number[];
  /** Bias on q/k/v_proj (LLaMA's attention_bias; always on in Qwen2). */
  qkvBias: boolean;
  /** Bias on o_proj (LLaMA's attention_bias; never in Qwen2). */
  outputBias: boolean;
  /** Bias on gate/up/down_proj. */
  mlpBias: boolean;
  /** The gated MLP's: down(act(gate(x)) ⊙ up(x)). */
  activation: GatedActivation;
  /** Multiplies q·k (1/√head_dim, or Gemma-2's query_pre_attn_scalar^-½). */
  attentionScale: number;
  /** Gemma-2: scores → c·tanh(scores / c) before the softmax (0: none). */
  attnSoftcap: number;
  /** Gemma-2: logits → c·tanh(logits / c) (0: none). */
  finalSoftcap: number;
  /** Gemma-2: the input embeddings are multiplied by √hidden_size, rounded to the model's dtype (false: not scaled). */
  scaleEmbeddings: boolean;
}

/** Reads fields of one config.json, each error naming the config kind and the field. */
export class ConfigReader {
  constructor(readonly kind: string, readonly c: Record<string, unknown>) {}

  fail(msg: string): never {
    throw new Error(`${this.kind}: ${msg}`);
  }

  positiveInt(field: string, fallback?: number): number {
    const v = this.c[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(`${field} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  }

  positiveIntOrZero(field: string): number {
    const v = this.c[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(`${field} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v;
  }

  positiveNumber(field: string, fallback: number): number {
    const v = this.c[field] ?? fallback;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) this.fail(`${field} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A positive number, or 0 where the field is null, absent or 0 (an optional cap or window). */
  optionalPositive(field: string, fallback: number | null = null): number {
    const v = this.c[field] === undefined ? fallback : this.c[field];
    if (v === null || v === 0) return 0;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) this.fail(`${field} must be a positive number or null, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.c[field] ?? fallback;
    if (typeof v !== 'boolean') this.fail(`${field} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  oneOf<T extends string>(field: string, allowed: Record<string, T>, fallback: string): T {
    const v = String(this.c[field] ?? fallback);
    if (!(v in allowed)) this.fail(`${field} '${v}' is not supported (${Object.keys(allowed).map((a) => `'${a}'`).join(', ')})`);
    return allowed[v];
  }

  /** The attention sizes every decoder shares: heads, kv heads (GQA) and head_dim (hidden / heads when absent). */
  attentionSizes(): Pick<ResolvedDecoderConfig, 'hiddenSize' | 'numHeads' | 'numKvHeads' | 'headDim'> {
    const hiddenSize = this.positiveInt('hidden_size');
    const numHeads = this.positiveInt('num_attention_heads');
    const numKvHeads = this.positiveInt('num_key_value_heads', numHeads);
    if (numHeads % numKvHeads !== 0) this.fail(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
    if ((this.c['head_dim'] ?? null) === null && hiddenSize % numHeads !== 0) {
      this.fail(`hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numHeads}) and head_dim is not given`);
    }
    const headDim = this.positiveInt('head_dim', hiddenSize / numHeads);
    return { hiddenSize, numHeads, numKvHeads, headDim };
  }

  /** The sizes every decoder has, with the architecture's defaults where config.json may omit them. */
  decoderSizes(defaults: { vocab_size?: number; intermediate_size?: number; num_hidden_layers?: number } = {}): Pick<ResolvedDecoderConfig, 'hiddenSize' | 'numHeads' | 'numKvHeads' | 'headDim' | 'vocabSize' | 'intermediateSize' | 'numLayers' | 'rmsNormEps'> {
    return {
      ...this.attentionSizes(),
      vocabSize: this.positiveInt('vocab_size', defaults.vocab_size),
      intermediateSize: this.positiveInt('intermediate_size', defaults.intermediate_size),
      numLayers: this.positiveInt('num_hidden_layers', defaults.num_hidden_layers),
      rmsNormEps: this.positiveNumber('rms_norm_eps', 1e-6),
    };
  }

  /**
   * transformers' layer_types (a list of 'full_attention' / 'sliding_attention', one per layer) as
   * windows, or null where the config has none. A sliding layer without a window (Qwen2 with
   * use_sliding_window false) attends fully, as transformers' attention then gets None.
   */
  layerTypes(numLayers: number, window: number): number[] | null {
    const types = this.c['layer_types'];
    if (types === undefined || types === null) return null;
    if (!Array.isArray(types) || types.length !== numLayers) this.fail(`layer_types must list one type per layer (${numLayers}), got ${JSON.stringify(types)}`);
    return types.map((t, i) => {
      if (t === 'full_attention') return 0;
      if (t !== 'sliding_attention') this.fail(`layer_types[${i}] '${String(t)}' is not supported ('full_attention', 'sliding_attention')`);
      return window;
    });
  }
}
