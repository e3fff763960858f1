// BertConfig: the fields of a Hugging Face config.json that BertModel reads (BERT, and the
// sentence embedders built on it such as all-MiniLM-L6-v2), with transformers' defaults and checks
// that name the field and the value.

export interface BertConfig {
  /** Default 30522. */
  vocab_size?: number;
  /** Default 768. */
  hidden_size?: number;
  /** Default 12. */
  num_hidden_layers?: number;
  /** Default 12; must divide hidden_size. */
  num_attention_heads?: number;
  /** Default 3072. */
  intermediate_size?: number;
  /** Only "gelu" (the exact erf form, transformers' default) is supported. */
  hidden_act?: string;
  /** Default 512: the longest input. */
  max_position_embeddings?: number;
  /** Default 2. */
  type_vocab_size?: number;
  /** Default 1e-12. */
  layer_norm_eps?: number;
  /** Only "absolute" (the default) is supported. */
  position_embedding_type?: string;
  model_type?: string;
  architectures?: string[];
  [key: string]: unknown;
}

export interface ResolvedBertConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
}

function positiveInt(field: string, v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`BertConfig: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

export function resolveBertConfig(c: BertConfig): ResolvedBertConfig {
  const hiddenSize = positiveInt('hidden_size', c.hidden_size, 768);
  const numHeads = positiveInt('num_attention_heads', c.num_attention_heads, 12);
  if (hiddenSize % numHeads !== 0) throw new Error(`BertConfig: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  const act = c.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new Error(`BertConfig: hidden_act ${JSON.stringify(act)} is not supported (only "gelu", the erf form)`);
  const pos = c.position_embedding_type ?? 'absolute';
  if (pos !== 'absolute') throw new Error(`BertConfig: position_embedding_type ${JSON.stringify(pos)} is not supported (only "absolute")`);
  const eps = c.layer_norm_eps ?? 1e-12;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) throw new Error(`BertConfig: layer_norm_eps must be a finite number ≥ 0, got ${JSON.stringify(eps)}`);
  return {
    vocabSize: positiveInt('vocab_size', c.vocab_size, 30522),
    hiddenSize,
    numLayers: positiveInt('num_hidden_layers', c.num_hidden_layers, 12),
    numHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize: positiveInt('intermediate_size', c.intermediate_size, 3072),
    maxPositions: positiveInt('max_position_embeddings', c.max_position_embeddings, 512),
    typeVocabSize: positiveInt('type_vocab_size', c.type_vocab_size, 2),
    layerNormEps: eps,
  };
}
