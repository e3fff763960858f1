// Qwen2Config (Qwen2, Qwen2.5): the fields of a Hugging Face config.json that Qwen2ForCausalLM
// reads, with transformers' defaults (configuration_qwen2.py). Qwen2 is LLaMA's decoder with biases
// on q/k/v_proj (none on o_proj or the MLP) and a sliding window on some layers.
import type { LlamaConfig } from './llama-config.js';
import { ConfigReader, type ResolvedDecoderConfig } from './decoder-config.js';

export interface Qwen2Config extends LlamaConfig {
  /** Default false: no layer has a window, whatever sliding_window says (real Qwen2 configs carry one). */
  use_sliding_window?: boolean;
  /** Default 4096. */
  sliding_window?: number | null;
  /** Default 28: with use_sliding_window, the layers i ≥ max_window_layers get the window. */
  max_window_layers?: number;
  /** Per layer 'full_attention' or 'sliding_attention'; when present it decides, not max_window_layers. */
  layer_types?: string[];
}

export function resolveQwen2Config(c: Qwen2Config): ResolvedDecoderConfig {
  const r = new ConfigReader('Qwen2Config', c);
  const sizes = r.decoderSizes({ vocab_size: 151936, intermediate_size: 22016 });
  const numLayers = sizes.numLayers;
  // transformers: sliding_window = sliding_window if use_sliding_window else None; layer i slides
  // iff the window is set and i ≥ max_window_layers (the code's rule; the config's docstring says
  // the opposite), unless layer_types is given.
  const window = r.bool('use_sliding_window', false) ? r.optionalPositive('sliding_window', 4096) : 0;
  const maxWindowLayers = r.c['max_window_layers'] === undefined ? 28 : r.positiveIntOrZero('max_window_layers');
  const layerWindows = r.layerTypes(numLayers, window) ?? Array.from({ length: numLayers }, (_, i) => (window > 0 && i >= maxWindowLayers ? window : 0));
  return {
    ...sizes,
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    layerWindows,
    qkvBias: true,
    outputBias: false,
    mlpBias: false,
    activation: r.oneOf('hidden_act', { silu: 'silu' }, 'silu'),
    attentionScale: 1 / Math.sqrt(sizes.headDim),
    attnSoftcap: 0,
    finalSoftcap: 0,
    scaleEmbeddings: false,
  };
}
