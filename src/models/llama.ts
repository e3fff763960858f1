// LlamaForCausalLM (LLaMA 1/2/3, Mistral) with Hugging Face's module tree, so parameter names are
// the checkpoint's tensor names (model.layers.{i}.self_attn.q_proj.weight, …) and numerics follow
// transformers' modeling_llama.py: pre-norm decoder layers, rotate-half RoPE, grouped-query
// attention (kv head j serves query heads j·g … j·g+g−1, as repeat_kv), Mistral's sliding window,
// SiLU-gated MLP. Every op runs in the model's dtype; RMSNorm and the attention softmax, which
// transformers upcasts to float32, are float32 or wider here because no dtype is narrower.
import type { Tensor } from '../autograd/tensor.js';
import type { Device } from '../autograd/device.js';
import { tensor, zeros } from '../autograd/create.js';
import { add } from '../kernels/elementwise/op.js';
import { addRmsNorm } from '../kernels/norm/op.js';
import { permute, reshape } from '../kernels/copy/op.js';
import { indexSelect } from '../kernels/gather/op.js';
import { matmul } from '../kernels/matmul/op.js';
import { attention } from '../kernels/attention/op.js';
import { cacheWrite, decodeAttention, rotateAndCache } from '../kernels/decode/op.js';
import { applyRopePair } from '../kernels/rope/op.js';
import { ropeFrequencies, ropeInvFreqTensor, type RopeFrequencies } from './rope-config.js';
import { isGradEnabled, keep, noGrad, tidy } from '../autograd/scope.js';
import { checkpoint } from '../autograd/checkpoint.js';
import { Module, ModuleList, type LoadStateDictOptions, type LoadStateDictResult } from '../nn/module.js';
import { Linear, type WeightStorage, linearGroup, swigluLinear } from '../nn/linear.js';
import { Embedding } from '../nn/embedding.js';
import { RMSNorm } from '../nn/rms-norm.js';
import { type FloatDType, ParamRng } from '../nn/init.js';
import { type LlamaConfig, type ResolvedLlamaConfig, resolveLlamaConfig } from './llama-config.js';

export interface LlamaInitOptions {
  device?: Device;
  /** float32 (default) or float64 (CPU device only). */
  dtype?: FloatDType;
  /** Seed of the random weights (default 0): the same seed gives the same model. */
  seed?: number;
  /** Standard deviation of the random weights (default 0.02, LlamaConfig's initializer_range). Norm weights start at 1. */
  initStd?: number;
  /**
   * How the Linear layers (projections and lm_head) hold their weights: float (default), or frozen
   * bfloat16 / NF4 storage, zero-filled until loaded (loadPretrainedLlama streams a checkpoint in).
   */
  linearStorage?: WeightStorage;
}

export interface LlamaForwardOptions {
  /** int32 [B]: valid length of each row (right padding). Padded positions' logits are meaningless. */
  keyPadding?: Tensor;
  /**
   * Key/value cache (model.newCache(promptLengths)). Empty: the ids are the prompts, right-padded
   * to the longest (their lengths given to newCache, not as keyPadding), run whole and cached.
   * Filled: the ids are one new token per row, [B, 1], each at its row's next position, attending
   * over that row's cached tokens; their keys and values are added.
   */
  cache?: LlamaCache;
  /**
   * One position per row (host numbers, 0 … T−1): compute the logits there only, [B, 1, vocab]
   * (generation reads each row's last token; the LM head over every position would cost T times
   * the work and a [B, T, vocab] buffer).
   */
  logitsAt?: number[];
}

/** What the layers share: the resolved config and the RoPE tables. */
interface Shared {
  cfg: ResolvedLlamaConfig;
  rope: RopeFrequencies;
  invFreq: Tensor;
}

class LlamaAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;

  constructor(private readonly s: Shared, rng: ParamRng, std: number, opts: LlamaInitOptions) {
    super();
    const { hiddenSize: d, numHeads: h, numKvHeads: hkv, headDim: hd, attentionBias: bias } = s.cfg;
    const p = { ...opts, rng, std, bias, storage: opts.linearStorage };
    this.q_proj = this.registerModule('q_proj', new Linear(d, h * hd, p));
    this.k_proj = this.registerModule('k_proj', new Linear(d, hkv * hd, p));
    this.v_proj = this.registerModule('v_proj', new Linear(d, hkv * hd, p));
    this.o_proj = this.registerModule('o_proj', new Linear(h * hd, d, p));
  }

  /**
   * x [B, T, hidden], positions int32 [T] or [B, T] → [B, T, hidden]. With a layer cache
   * (generation): an empty cache is filled with this call's keys and values (the prompts); a filled
   * one gets them written into its next column (one new token per row), and each row's query
   * attends over the cached columns `visible` lets it see (LlamaCache.visibleKeys) with
   * decodeAttention, which reads the cache in place.
   */
  forward(x: Tensor, positions: Tensor, keyPadding?: Tensor, cache?: LayerCache, visible?: Tensor): Tensor {
    const { numHeads: H, numKvHeads: Hkv, headDim: D } = this.s.cfg;
    const [B, T] = x.shape;
    // [B, T, H·D] → [B, H, T, D]
    const heads = (y: Tensor, n: number) => permute(reshape(y, [B, T, n, D]), [0, 2, 1, 3]);
    // One launch for the three projections in a decoding step (linearGroup), else three.
    const [qx, kx, vx] = linearGroup([this.q_proj, this.k_proj, this.v_proj], x);
    const { invFreq, rope } = this.s;
    const v = heads(vx, Hkv);
    let o: Tensor;
    if (cache && cache.columns > 0) {
      if (isGradEnabled() && qx.requiresGrad) throw new Error('LlamaAttention: a filled key/value cache is for generation; run forward with a cache under noGrad()');
      // The queries' and keys' rotations and the cache write in one launch.
      const q = cache.writeRotated(heads(qx, H), heads(kx, Hkv), v, positions, invFreq, rope.rotaryDim);
      o = decodeAttention(q, cache.k!, cache.v!, visible!);
    } else {
      // One launch for both rotations where no graph is recorded (applyRopePair), else two.
      const [q, k] = applyRopePair(heads(qx, H), heads(kx, Hkv), positions, invFreq, rope.rotaryDim);
      const slidingWindow = this.s.cfg.slidingWindow;
      o = attention(q, k, v, {
        causal: true,
        ...(slidingWindow > 0 ? { window: slidingWindow } : {}),
        ...(keyPadding ? { keyPadding } : {}),
      });
      if (cache) cache.write(k, v);
    }
    return this.o_proj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, T, H * D]));
  }
}

/**
 * A layer's keys (after RoPE) and values, [B, Hkv, capacity, D], of which the first `columns` are
 * written; kept out of tidy(). Columns are written in place (cacheWrite), so a step costs one new
 * column, not a copy of the cache. The first write allocates max(its columns, `reserve`); a write
 * past the capacity doubles it (one copy).
 */
export class LayerCache {
  k: Tensor | null = null;
  v: Tensor | null = null;
  columns = 0;
  /** Columns to allocate at the first write (the prompt width plus the tokens to come). */
  reserve = 0;

  /** Appends k, v [B, Hkv, n, D] as the next n columns. */
  write(k: Tensor, v: Tensor): void {
    this.makeRoom(k);
    cacheWrite([this.k!, this.v!], [k, v], this.columns);
    this.columns += k.shape[2];
  }

  /**
   * A decoding step's write: q and k [B, ·, n, D] rotated by RoPE, k and v appended as the next n
   * columns, in one launch (rotateAndCache); returns q rotated.
   */
  writeRotated(q: Tensor, k: Tensor, v: Tensor, positions: Tensor, invFreq: Tensor, rotaryDim: number): Tensor {
    this.makeRoom(k);
    const qr = rotateAndCache(q, k, v, this.k!, this.v!, this.columns, positions, invFreq, rotaryDim);
    this.columns += k.shape[2];
    return qr;
  }

  /** Grows the cache (to max(needed, reserve, twice its capacity); one copy) if k's columns do not fit. */
  private makeRoom(k: Tensor): void {
    const [B, Hkv, n, D] = k.shape;
    const need = this.columns + n;
    const capacity = this.k ? this.k.shape[2] : 0;
    if (need <= capacity) return;
    const grown = Math.max(need, this.reserve, 2 * capacity);
    const fresh = [0, 1].map(() => keep(zeros([B, Hkv, grown, D], { device: k.device, dtype: k.dtype })));
    if (this.k && this.v) cacheWrite(fresh, [this.k, this.v], 0);
    this.dispose();
    [this.k, this.v] = fresh;
  }

  /** Keeps the batch rows `ids` (int32 indices) of the cache, in that order. */
  keepRows(ids: Tensor): void {
    if (!this.k || !this.v) return;
    const [k, v] = [keep(indexSelect(this.k, 0, ids)), keep(indexSelect(this.v, 0, ids))];
    this.dispose();
    [this.k, this.v] = [k, v];
  }

  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = this.v = null;
  }
}

/**
 * The key/value cache of a whole model for a batch of sequences: generation without recomputing the
 * prefixes. The prompts are cached right-padded to the longest, and every later token of every row
 * goes in the same new column, so row b's tokens are columns [0, promptLengths[b]) and
 * [promptWidth, width): the gap between is padding its queries never see. A row's positions (RoPE)
 * run on without the gap.
 */
export class LlamaCache {
  readonly layers: LayerCache[];
  /** Columns cached so far (prompt width plus tokens added since). */
  width = 0;
  /** Each row's prompt length (its real tokens among the first promptWidth columns). */
  promptLengths: number[] = [];
  promptWidth = 0;
  /** Tokens per row expected after the prompts: the layers reserve room for them (more still fit). */
  tokensToCome = 0;

  constructor(numLayers: number) {
    this.layers = Array.from({ length: numLayers }, () => new LayerCache());
  }

  /** Rows cached (0 while empty). */
  get batch(): number {
    return this.promptLengths.length;
  }

  /** Row b's tokens so far: its next token's position. */
  length(b = 0): number {
    return this.promptLengths[b] + this.width - this.promptWidth;
  }

  /** The position a cached column has in row b (RoPE's), or −1 for padding. */
  positionOf(b: number, column: number): number {
    if (column < this.promptLengths[b]) return column;
    return column < this.promptWidth ? -1 : this.promptLengths[b] + column - this.promptWidth;
  }

  /**
   * Which keys the next token of each row sees once it is cached (width + 1 columns): its row's
   * tokens, the last `window` of them with a sliding window (key position > query position − window,
   * as Mistral). 0/1, [B, width + 1]: decodeAttention's mask.
   */
  visibleKeys(window: number, device: Device, dtype: FloatDType): Tensor {
    const B = this.batch, L = this.width + 1;
    const mask = new Float64Array(B * L);
    for (let b = 0; b < B; b++) {
      const query = this.length(b);
      for (let j = 0; j < L; j++) {
        const p = j === this.width ? query : this.positionOf(b, j);
        mask[b * L + j] = p >= 0 && (window <= 0 || p > query - window) ? 1 : 0;
      }
    }
    return tensor(mask, [B, L], { device, dtype });
  }

  /**
   * Keeps only these rows of the batch (indices into it, in their new order), e.g. to drop rows
   * that finished generating: each layer's cache rows are gathered into new tensors (one copy).
   */
  keepRows(rows: number[]): void {
    if (rows.some((b) => !Number.isInteger(b) || b < 0 || b >= this.batch)) throw new Error(`LlamaCache.keepRows: rows [${rows}] are not all in 0..${this.batch - 1}`);
    const device = this.layers.find((l) => l.k)?.k!.device;
    if (device) {
      noGrad(() => tidy(() => {
        const ids = tensor(Int32Array.from(rows), [rows.length], { device, dtype: 'int32' });
        for (const l of this.layers) l.keepRows(ids);
      }));
    }
    this.promptLengths = rows.map((b) => this.promptLengths[b]);
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;

  constructor(cfg: ResolvedLlamaConfig, rng: ParamRng, std: number, opts: LlamaInitOptions) {
    super();
    const p = { ...opts, rng, std, bias: cfg.mlpBias, storage: opts.linearStorage };
    this.gate_proj = this.registerModule('gate_proj', new Linear(cfg.hiddenSize, cfg.intermediateSize, p));
    this.up_proj = this.registerModule('up_proj', new Linear(cfg.hiddenSize, cfg.intermediateSize, p));
    this.down_proj = this.registerModule('down_proj', new Linear(cfg.intermediateSize, cfg.hiddenSize, p));
  }

  /** down_proj(silu(gate_proj(x)) ⊙ up_proj(x)); the gate, up and SwiGLU one launch in a decoding step (swigluLinear). */
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(swigluLinear(this.gate_proj, this.up_proj, x));
  }
}

class LlamaDecoderLayer extends Module {
  readonly self_attn: LlamaAttention;
  readonly mlp: LlamaMLP;
  readonly input_layernorm: RMSNorm;
  readonly post_attention_layernorm: RMSNorm;

  constructor(s: Shared, rng: ParamRng, std: number, opts: LlamaInitOptions) {
    super();
    this.self_attn = this.registerModule('self_attn', new LlamaAttention(s, rng, std, opts));
    this.mlp = this.registerModule('mlp', new LlamaMLP(s.cfg, rng, std, opts));
    this.input_layernorm = this.registerModule('input_layernorm', new RMSNorm(s.cfg.hiddenSize, s.cfg.rmsNormEps, opts));
    this.post_attention_layernorm = this.registerModule('post_attention_layernorm', new RMSNorm(s.cfg.hiddenSize, s.cfg.rmsNormEps, opts));
  }

  /**
   * Pre-norm residual block: h = x + attn(norm(x)); h + mlp(norm(h)). The first add and the norm
   * after it are one kernel where no gradient is recorded (addRmsNorm).
   */
  forward(x: Tensor, positions: Tensor, keyPadding?: Tensor, cache?: LayerCache, visible?: Tensor): Tensor {
    const [h, m] = this.forwardUnsummed(x, undefined, positions, keyPadding, cache, visible);
    return add(h, m);
  }

  /**
   * The block with its residual sums left to the next kernel: its input is x + branch (branch from
   * the previous layer, or none), its output [h, mlp(norm(h))], whose sum the next layer's input
   * norm (or the final norm) forms in the same kernel (addRmsNorm). Where no gradient is recorded
   * this saves a launch per layer; with one, the sums are the same ops as forward's.
   */
  forwardUnsummed(x: Tensor, branch: Tensor | undefined, positions: Tensor, keyPadding?: Tensor, cache?: LayerCache, visible?: Tensor): [Tensor, Tensor] {
    const input = this.input_layernorm;
    const [residual, xn] = branch ? addRmsNorm(x, branch, input.weight, input.eps) : [x, input.forward(x)];
    const attn = this.self_attn.forward(xn, positions, keyPadding, cache, visible);
    const norm = this.post_attention_layernorm;
    const [h, hn] = addRmsNorm(residual, attn, norm.weight, norm.eps);
    return [h, this.mlp.forward(hn)];
  }
}

class LlamaModel extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: RMSNorm;

  /** Mistral's sliding window (0: none): which cached keys a new token sees. */
  private readonly slidingWindow: number;

  constructor(s: Shared, rng: ParamRng, std: number, opts: LlamaInitOptions) {
    super();
    const { cfg } = s;
    this.slidingWindow = cfg.slidingWindow;
    this.embed_tokens = this.registerModule('embed_tokens', new Embedding(cfg.vocabSize, cfg.hiddenSize, { ...opts, rng, std }));
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: cfg.numLayers }, () => new LlamaDecoderLayer(s, rng, std, opts))));
    this.norm = this.registerModule('norm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, opts));
  }

  /** Recompute each decoder layer's activations during backward instead of keeping them. */
  gradientCheckpointing = false;

  /** ids int32 [B, T] → final hidden states [B, T, hidden]. */
  forward(ids: Tensor, positions: Tensor, keyPadding?: Tensor, cache?: LlamaCache): Tensor {
    let x = this.embed_tokens.forward(ids);
    const visible = cache && cache.width > 0 ? cache.visibleKeys(this.slidingWindow, ids.device, x.dtype as FloatDType) : undefined;
    if (!isGradEnabled()) {
      // No graph (generation, evaluation, a frozen reference): each layer hands the next its two
      // residual terms, summed by the next input norm's kernel (forwardUnsummed); a layer's inputs
      // are freed once the next has read them, as nothing else can (no backward will).
      let pair: [Tensor, Tensor | undefined] = [x, undefined];
      this.layers.items.forEach((layer, i) => {
        const next = tidy(() => layer.forwardUnsummed(pair[0], pair[1], positions, keyPadding, cache?.layers[i], visible));
        pair[0].dispose();
        pair[1]?.dispose();
        pair = next;
      });
      visible?.dispose();
      const [h, branch] = pair;
      if (!branch) return this.norm.forward(h);
      const [sum, out] = addRmsNorm(h, branch, this.norm.weight, this.norm.eps);
      for (const t of [sum, h, branch]) t.dispose();
      return out;
    }
    this.layers.items.forEach((layer, i) => {
      // Each layer in its own tidy: the copies, sums and projections no backward rule reads
      // (permuted heads, residual branches, LoRA's paths) go when the layer ends, and the graph keeps
      // only what its rules saved (docs/training.md, activation memory).
      x = tidy(() => this.gradientCheckpointing && !cache
        // Positions and padding are the block's inputs too: the graph keeps them for the recompute,
        // which may run after the tidy that made them has ended (two-pass steps).
        ? checkpoint((h, pos, pad) => layer.forward(h, pos, pad), keyPadding ? [x, positions, keyPadding] : [x, positions], layer.parameters())
        : layer.forward(x, positions, keyPadding, cache?.layers[i], visible));
    });
    visible?.dispose();
    return this.norm.forward(x);
  }
}

/**
 * LLaMA / Mistral with a language-model head. Built with random weights (seeded); load a checkpoint
 * with loadStateDict(await loadSafetensors(path, { device })). Parameter names are Hugging Face's;
 * with tie_word_embeddings there is no lm_head.weight and the logits use model.embed_tokens.weight.
 */
export class LlamaForCausalLM extends Module {
  readonly config: LlamaConfig;
  readonly resolved: ResolvedLlamaConfig;
  readonly model: LlamaModel;
  readonly lm_head: Linear | null;
  private readonly shared: Shared;

  constructor(config: LlamaConfig, opts: LlamaInitOptions = {}) {
    super();
    this.config = config;
    const cfg = (this.resolved = resolveLlamaConfig(config));
    const rope = ropeFrequencies({ ...config, head_dim: cfg.headDim });
    // RoPE's inv_freq is a float32 buffer (as transformers'), not a parameter.
    const invFreq = keep(ropeInvFreqTensor(rope, opts.device ? { device: opts.device } : {}));
    this.shared = { cfg, rope, invFreq };
    const rng = new ParamRng(opts.seed ?? 0);
    const std = opts.initStd ?? 0.02;
    this.model = this.registerModule('model', new LlamaModel(this.shared, rng, std, opts));
    this.lm_head = cfg.tieWordEmbeddings ? null : this.registerModule('lm_head', new Linear(cfg.hiddenSize, cfg.vocabSize, { ...opts, rng, std, storage: opts.linearStorage }));
    for (const [name, t] of this.namedParameters()) t.name = name;
  }

  /**
   * ids int32 [B, T] → logits [B, T, vocab] at positions 0 … T−1 (or [B, 1, vocab] at logitsAt).
   * keyPadding (int32 [B] lengths) masks keys past each row's length (right padding); logits at
   * padded positions are meaningless.
   */
  forward(ids: Tensor, opts: LlamaForwardOptions = {}): Tensor {
    if (ids.dtype !== 'int32' || ids.rank !== 2) throw new Error(`LlamaForCausalLM.forward: ids must be int32 [batch, seq], got ${ids.dtype} [${ids.shape}]`);
    const [B, T] = ids.shape;
    const pad = opts.keyPadding;
    if (pad && (pad.dtype !== 'int32' || pad.rank !== 1 || pad.shape[0] !== B)) {
      throw new Error(`LlamaForCausalLM.forward: keyPadding must be int32 [${B}] lengths, got ${pad.dtype} [${pad.shape}]`);
    }
    const cache = opts.cache;
    let positions: Tensor;
    if (cache && cache.width > 0) {
      if (T !== 1 || pad || B !== cache.batch) {
        throw new Error(`LlamaForCausalLM.forward: a filled cache takes one new token per cached row, ids [${cache.batch}, 1] without keyPadding; got [${ids.shape}]${pad ? ' with keyPadding' : ''}`);
      }
      positions = tensor(Int32Array.from({ length: B }, (_, b) => cache.length(b)), [B, 1], { device: ids.device, dtype: 'int32' });
    } else {
      positions = tensor(Int32Array.from({ length: T }, (_, i) => i), [T], { device: ids.device, dtype: 'int32' });
    }
    let keyPadding = pad;
    if (cache && cache.width === 0) {
      // The prompts: their lengths were given to newCache() (all T when not).
      if (pad) throw new Error('LlamaForCausalLM.forward: with a cache, give the prompt lengths to model.newCache(lengths) instead of keyPadding');
      const lengths = cache.promptLengths.length > 0 ? cache.promptLengths : new Array<number>(B).fill(T);
      if (lengths.length !== B || lengths.some((n) => !Number.isInteger(n) || n < 1 || n > T)) {
        throw new Error(`LlamaForCausalLM.forward: the cache's prompt lengths [${lengths}] do not fit ids [${ids.shape}] (one per row, 1 to ${T})`);
      }
      cache.promptLengths = lengths;
      cache.promptWidth = T;
      for (const layer of cache.layers) layer.reserve = T + cache.tokensToCome;
      if (lengths.some((n) => n < T)) keyPadding = tensor(Int32Array.from(lengths), [B], { device: ids.device, dtype: 'int32' });
    }
    const at = opts.logitsAt;
    if (at && (at.length !== B || at.some((p) => !Number.isInteger(p) || p < 0 || p >= T))) {
      throw new Error(`LlamaForCausalLM.forward: logitsAt must give one position in 0..${T - 1} per row (${B} rows), got [${at}]`);
    }
    let h = this.model.forward(ids, positions, keyPadding, cache);
    if (cache) cache.width += T;
    if (at) {
      const rows = tensor(Int32Array.from(at, (p, b) => b * T + p), [B], { device: ids.device, dtype: 'int32' });
      h = reshape(indexSelect(reshape(h, [B * T, h.shape[2]]), 0, rows), [B, 1, h.shape[2]]);
    }
    return this.lm_head ? this.lm_head.forward(h) : matmul(h, this.model.embed_tokens.weight, { transposeB: true });
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
    const filtered = new Map([...source].filter(([n]) => !n.endsWith('.rotary_emb.inv_freq')));
    return super.loadStateDict(filtered, opts);
  }

  /**
   * An empty key/value cache for forward({ cache }) (dispose it when done). promptLengths: each row's
   * prompt length when the prompts come right-padded to the longest (default: none padded).
   * tokensToCome: how many tokens per row will follow the prompts, so the cache is allocated once
   * at its final width (default 0: it doubles when full).
   */
  newCache(promptLengths: number[] = [], tokensToCome = 0): LlamaCache {
    const cache = new LlamaCache(this.resolved.numLayers);
    cache.promptLengths = [...promptLengths];
    cache.tokensToCome = tokensToCome;
    return cache;
  }

  override dispose(): void {
    super.dispose();
    this.shared.invFreq.dispose();
  }
}
