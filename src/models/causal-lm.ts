// CausalLM: what train/, eval/, cli/ and bench/ know of a language model, whatever its
// architecture, and DecoderForCausalLM, the one implementation the decoder architectures here share
// (transformers' <Arch>ForCausalLM: the decoder stack, then lm_head or the tied embeddings, then
// Gemma-2's final soft-cap). An architecture is a config adapter, a decoder layer and a
// registration (architectures.ts); docs/models.md says how to add one.
import type { Tensor } from '../autograd/tensor.js';
import { tensor } from '../autograd/create.js';
import { softcap } from '../kernels/elementwise/op.js';
import { reshape } from '../kernels/copy/op.js';
import { indexSelect } from '../kernels/gather/op.js';
import { matmul } from '../kernels/matmul/op.js';
import { ropeFrequencies, ropeInvFreqTensor } from './rope-config.js';
import { keep } from '../autograd/scope.js';
import { Module, type LoadStateDictOptions, type LoadStateDictResult } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { type FloatDType, ParamRng } from '../nn/init.js';
import type { ResolvedDecoderConfig } from './decoder-config.js';
import type { DecoderInitOptions, DecoderShared } from './decoder-blocks.js';
import type { DecoderLayer, DecoderModel } from './decoder-model.js';
import { KVCache } from './kv-cache.js';

export interface CausalLMForwardOptions {
  /** int32 [B]: valid length of each row (right padding). Padded positions' logits are meaningless. */
  keyPadding?: Tensor;
  /**
   * Key/value cache (model.newCache(promptLengths)). Empty: the ids are the prompts, right-padded
   * to the longest (their lengths given to newCache, not as keyPadding), run whole and cached.
   * Filled: the ids are one new token per row, [B, 1], each at its row's next position, attending
   * over that row's cached tokens; their keys and values are added.
   */
  cache?: KVCache;
  /**
   * One position per row (host numbers, 0 … T−1): compute the logits there only, [B, 1, vocab]
   * (generation reads each row's last token; the LM head over every position would cost T times
   * the work and a [B, T, vocab] buffer).
   */
  logitsAt?: number[];
  /**
   * Return the logits before the final soft-cap (Gemma-2's final_logit_softcapping; no effect on
   * other architectures), for a kernel that applies the cap itself (tokenLogprobs' softcap) without
   * a capped copy of every logit.
   */
  uncappedLogits?: boolean;
}

/** A causal language model of any registered architecture. */
export interface CausalLM extends Module {
  /** The Hugging Face config.json it was built from (its field names). */
  readonly config: Record<string, unknown>;
  /** transformers' class name (config.json's architectures[0]), e.g. 'LlamaForCausalLM'. */
  readonly architecture: string;
  /** config.json's model_type, e.g. 'llama'. */
  readonly modelType: string;
  /** The config as the model computes it (sizes and each architecture switch). */
  readonly resolved: ResolvedDecoderConfig;
  /** The float dtype it computes in. */
  readonly dtype: FloatDType;
  /** The token embedding table [vocab, hidden] (a fingerprint of the base model reads it). */
  readonly embeddingWeight: Tensor;
  /** The final soft-cap of the logits (0: none); forward applies it unless asked not to. */
  readonly finalLogitSoftcap: number;
  /** ids int32 [B, T] → logits [B, T, vocab] (or [B, 1, vocab] at logitsAt). */
  forward(ids: Tensor, opts?: CausalLMForwardOptions): Tensor;
  /** ids int32 [B, T] → the embedding table's rows [B, T, hidden] (before any architecture's scaling). */
  inputEmbeddings(ids: Tensor): Tensor;
  /** An empty key/value cache for forward({ cache }); dispose it when done. */
  newCache(promptLengths?: number[], tokensToCome?: number): KVCache;
  /** Activation checkpointing per decoder layer (transformers' gradient_checkpointing_enable()). */
  gradientCheckpointingEnable(on?: boolean): void;
}

/** What an architecture gives DecoderForCausalLM: its names, resolved config and decoder stack. */
export interface DecoderSpec<L extends DecoderLayer> {
  architecture: string;
  modelType: string;
  resolved: ResolvedDecoderConfig;
  decoder: (shared: DecoderShared, rng: ParamRng, std: number) => DecoderModel<L>;
}

/**
 * A decoder with a language-model head. Built with random weights (seeded); load a checkpoint with
 * loadPretrainedCausalLM. Parameter names are Hugging Face's; with tied embeddings there is no
 * lm_head.weight and the logits use model.embed_tokens.weight.
 */
export class DecoderForCausalLM<L extends DecoderLayer = DecoderLayer> extends Module implements CausalLM {
  readonly config: Record<string, unknown>;
  readonly architecture: string;
  readonly modelType: string;
  readonly resolved: ResolvedDecoderConfig;
  readonly model: DecoderModel<L>;
  readonly lm_head: Linear | null;
  private readonly shared: DecoderShared;

  constructor(config: object, spec: DecoderSpec<L>, opts: DecoderInitOptions = {}) {
    super();
    this.config = config as Record<string, unknown>;
    this.architecture = spec.architecture;
    this.modelType = spec.modelType;
    const cfg = (this.resolved = spec.resolved);
    const rope = ropeFrequencies({ ...this.config, head_dim: cfg.headDim });
    // RoPE's inv_freq is a float32 buffer (as transformers'), not a parameter.
    const invFreq = keep(ropeInvFreqTensor(rope, opts.device ? { device: opts.device } : {}));
    this.shared = { cfg, rope, invFreq };
    const rng = new ParamRng(opts.seed ?? 0);
    const std = opts.initStd ?? 0.02;
    this.model = this.registerModule('model', spec.decoder(this.shared, rng, std));
    this.lm_head = cfg.tieWordEmbeddings ? null : this.registerModule('lm_head', new Linear(cfg.hiddenSize, cfg.vocabSize, { ...opts, rng, std, storage: opts.linearStorage }));
    for (const [name, t] of this.namedParameters()) t.name = name;
  }

  get dtype(): FloatDType {
    return this.model.embed_tokens.weight.dtype as FloatDType;
  }

  get embeddingWeight(): Tensor {
    return this.model.embed_tokens.weight;
  }

  get finalLogitSoftcap(): number {
    return this.resolved.finalSoftcap;
  }

  inputEmbeddings(ids: Tensor): Tensor {
    return this.model.embed_tokens.forward(ids);
  }

  /**
   * ids int32 [B, T] → logits [B, T, vocab] at positions 0 … T−1 (or [B, 1, vocab] at logitsAt).
   * keyPadding (int32 [B] lengths) masks keys past each row's length (right padding); logits at
   * padded positions are meaningless.
   */
  forward(ids: Tensor, opts: CausalLMForwardOptions = {}): Tensor {
    const name = `${this.architecture}.forward`;
    if (ids.dtype !== 'int32' || ids.rank !== 2) throw new Error(`${name}: ids must be int32 [batch, seq], got ${ids.dtype} [${ids.shape}]`);
    const [B, T] = ids.shape;
    const pad = opts.keyPadding;
    if (pad && (pad.dtype !== 'int32' || pad.rank !== 1 || pad.shape[0] !== B)) {
      throw new Error(`${name}: keyPadding must be int32 [${B}] lengths, got ${pad.dtype} [${pad.shape}]`);
    }
    const cache = opts.cache;
    let positions: Tensor;
    if (cache && cache.width > 0) {
      if (T !== 1 || pad || B !== cache.batch) {
        throw new Error(`${name}: a filled cache takes one new token per cached row, ids [${cache.batch}, 1] without keyPadding; got [${ids.shape}]${pad ? ' with keyPadding' : ''}`);
      }
      positions = tensor(Int32Array.from({ length: B }, (_, b) => cache.length(b)), [B, 1], { device: ids.device, dtype: 'int32' });
    } else {
      positions = tensor(Int32Array.from({ length: T }, (_, i) => i), [T], { device: ids.device, dtype: 'int32' });
    }
    let keyPadding = pad;
    if (cache && cache.width === 0) {
      // The prompts: their lengths were given to newCache() (all T when not).
      if (pad) throw new Error(`${name}: with a cache, give the prompt lengths to model.newCache(lengths) instead of keyPadding`);
      const lengths = cache.promptLengths.length > 0 ? cache.promptLengths : new Array<number>(B).fill(T);
      if (lengths.length !== B || lengths.some((n) => !Number.isInteger(n) || n < 1 || n > T)) {
        throw new Error(`${name}: the cache's prompt lengths [${lengths}] do not fit ids [${ids.shape}] (one per row, 1 to ${T})`);
      }
      cache.promptLengths = lengths;
      cache.promptWidth = T;
      for (const layer of cache.layers) layer.reserve = T + cache.tokensToCome;
      if (lengths.some((n) => n < T)) keyPadding = tensor(Int32Array.from(lengths), [B], { device: ids.device, dtype: 'int32' });
    }
    const at = opts.logitsAt;
    if (at && (at.length !== B || at.some((p) => !Number.isInteger(p) || p < 0 || p >= T))) {
      throw new Error(`${name}: logitsAt must give one position in 0..${T - 1} per row (${B} rows), got [${at}]`);
    }
    let h = this.model.forward(ids, positions, keyPadding, cache);
    if (cache) cache.width += T;
    if (at) {
      const rows = tensor(Int32Array.from(at, (p, b) => b * T + p), [B], { device: ids.device, dtype: 'int32' });
      h = reshape(indexSelect(reshape(h, [B * T, h.shape[2]]), 0, rows), [B, 1, h.shape[2]]);
    }
    const logits = this.lm_head ? this.lm_head.forward(h) : matmul(h, this.model.embed_tokens.weight, { transposeB: true });
    const cap = this.resolved.finalSoftcap;
    return cap > 0 && !opts.uncappedLogits ? softcap(logits, cap) : logits;
  }

  /**
   * Activation checkpointing per decoder layer (transformers' gradient_checkpointing_enable()): the
   * forward keeps only each layer's input, and backward recomputes the layer. Saves most activation
   * memory for about one more forward pass; the gradients are the same.
   */
  gradientCheckpointingEnable(on = true): void {
    this.model.gradientCheckpointing = on;
  }

  /**
   * As Module.loadStateDict, ignoring the rotary_emb.inv_freq buffers that older checkpoints carry
   * (transformers' _keys_to_ignore_on_load_unexpected): RoPE tables are computed from the config.
   */
  override loadStateDict(map: Map<string, Tensor> | Record<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const source = map instanceof Map ? map : new Map(Object.entries(map));
    const filtered = new Map([...source].filter(([n]) => !isIgnoredOnLoad(n)));
    return super.loadStateDict(filtered, opts);
  }

  /**
   * An empty key/value cache for forward({ cache }) (dispose it when done). promptLengths: each row's
   * prompt length when the prompts come right-padded to the longest (default: none padded).
   * tokensToCome: how many tokens per row will follow the prompts, so the cache is allocated once
   * at its final width (default 0: it doubles when full).
   */
  newCache(promptLengths: number[] = [], tokensToCome = 0): KVCache {
    const cache = new KVCache(this.resolved.numLayers);
    cache.promptLengths = [...promptLengths];
    cache.tokensToCome = tokensToCome;
    return cache;
  }

  override dispose(): void {
    super.dispose();
    this.shared.invFreq.dispose();
  }
}

/** Checkpoint tensors that are not parameters: RoPE's inv_freq buffers of older checkpoints. */
export function isIgnoredOnLoad(name: string): boolean {
  return name.endsWith('.rotary_emb.inv_freq');
}
