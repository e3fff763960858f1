// The blocks every decoder architecture here shares, with Hugging Face's module names (so parameter
// names are the checkpoint's): self-attention (q/k/v/o_proj, rotate-half RoPE, grouped-query
// attention as repeat_kv pairs heads, an optional sliding window, scale and score soft-capping) and
// the gated MLP (gate/up/down_proj). What differs between architectures is read from the resolved
// config: biases, the activation, the scale, the caps, each layer's window.
import type { Tensor } from '../autograd/tensor.js';
import { permute, reshape } from '../kernels/copy/op.js';
import { attention } from '../kernels/attention/op.js';
import { decodeAttention } from '../kernels/decode/op.js';
import { applyRopePair } from '../kernels/rope/op.js';
import type { RopeFrequencies } from './rope-config.js';
import { isGradEnabled } from '../autograd/scope.js';
import { Module } from '../nn/module.js';
import { Linear, type WeightStorage, gatedLinear, linearGroup } from '../nn/linear.js';
import { type FloatDType, ParamRng } from '../nn/init.js';
import type { Device } from '../autograd/device.js';
import type { ResolvedDecoderConfig } from './decoder-config.js';
import type { LayerCache } from './kv-cache.js';

export interface DecoderInitOptions {
  device?: Device;
  /** float32 (default) or float64 (CPU device only). */
  dtype?: FloatDType;
  /** Seed of the random weights (default 0): the same seed gives the same model. */
  seed?: number;
  /** Standard deviation of the random weights (default 0.02, the configs' initializer_range). */
  initStd?: number;
  /**
   * How the Linear layers (projections and lm_head) hold their weights: float (default), or frozen
   * bfloat16 / NF4 storage, zero-filled until loaded (loadPretrainedCausalLM streams a checkpoint in).
   */
  linearStorage?: WeightStorage;
}

/** What the layers of one model share: the resolved config and the RoPE tables. */
export interface DecoderShared {
  cfg: ResolvedDecoderConfig;
  rope: RopeFrequencies;
  invFreq: Tensor;
}

/** Per-layer inputs of a forward pass. visible: the decoding step's mask of cached keys (KVCache.visibleKeys) for this layer's window. */
export interface LayerInputs {
  positions: Tensor;
  keyPadding?: Tensor;
  cache?: LayerCache;
  visible?: Tensor;
}

export class DecoderAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;

  constructor(private readonly s: DecoderShared, private readonly layer: number, rng: ParamRng, std: number, opts: DecoderInitOptions) {
    super();
    const { hiddenSize: d, numHeads: h, numKvHeads: hkv, headDim: hd, qkvBias, outputBias } = s.cfg;
    const p = { ...opts, rng, std, storage: opts.linearStorage };
    this.q_proj = this.registerModule('q_proj', new Linear(d, h * hd, { ...p, bias: qkvBias }));
    this.k_proj = this.registerModule('k_proj', new Linear(d, hkv * hd, { ...p, bias: qkvBias }));
    this.v_proj = this.registerModule('v_proj', new Linear(d, hkv * hd, { ...p, bias: qkvBias }));
    this.o_proj = this.registerModule('o_proj', new Linear(h * hd, d, { ...p, bias: outputBias }));
  }

  /**
   * x [B, T, hidden] → [B, T, hidden]. With a layer cache (generation): an empty cache is filled
   * with this call's keys and values (the prompts); a filled one gets them written into its next
   * column (one new token per row), and each row's query attends over the cached columns `visible`
   * lets it see, with decodeAttention, which reads the cache in place.
   */
  forward(x: Tensor, { positions, keyPadding, cache, visible }: LayerInputs): Tensor {
    const { numHeads: H, numKvHeads: Hkv, headDim: D, attentionScale: scale, attnSoftcap: softcap } = this.s.cfg;
    const [B, T] = x.shape;
    // [B, T, H·D] → [B, H, T, D]
    const heads = (y: Tensor, n: number) => permute(reshape(y, [B, T, n, D]), [0, 2, 1, 3]);
    // One launch for the three projections in a decoding step (linearGroup), else three.
    const [qx, kx, vx] = linearGroup([this.q_proj, this.k_proj, this.v_proj], x);
    const { invFreq, rope } = this.s;
    const v = heads(vx, Hkv);
    const scoring = { scale, ...(softcap > 0 ? { softcap } : {}) };
    let o: Tensor;
    if (cache && cache.columns > 0) {
      if (isGradEnabled() && qx.requiresGrad) throw new Error('attention: a filled key/value cache is for generation; run forward with a cache under noGrad()');
      // The queries' and keys' rotations and the cache write in one launch.
      const q = cache.writeRotated(heads(qx, H), heads(kx, Hkv), v, positions, invFreq, rope.rotaryDim);
      o = decodeAttention(q, cache.k!, cache.v!, visible!, scoring);
    } else {
      // One launch for both rotations where no graph is recorded (applyRopePair), else two.
      const [q, k] = applyRopePair(heads(qx, H), heads(kx, Hkv), positions, invFreq, rope.rotaryDim);
      const window = this.s.cfg.layerWindows[this.layer];
      o = attention(q, k, v, {
        causal: true,
        ...scoring,
        ...(window > 0 ? { window } : {}),
        ...(keyPadding ? { keyPadding } : {}),
      });
      if (cache) cache.write(k, v);
    }
    return this.o_proj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, T, H * D]));
  }
}

export class GatedMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;

  constructor(private readonly cfg: ResolvedDecoderConfig, rng: ParamRng, std: number, opts: DecoderInitOptions) {
    super();
    const p = { ...opts, rng, std, bias: cfg.mlpBias, storage: opts.linearStorage };
    this.gate_proj = this.registerModule('gate_proj', new Linear(cfg.hiddenSize, cfg.intermediateSize, p));
    this.up_proj = this.registerModule('up_proj', new Linear(cfg.hiddenSize, cfg.intermediateSize, p));
    this.down_proj = this.registerModule('down_proj', new Linear(cfg.intermediateSize, cfg.hiddenSize, p));
  }

  /** down_proj(act(gate_proj(x)) ⊙ up_proj(x)); the gate, up and product one launch in a decoding step (gatedLinear). */
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(gatedLinear(this.gate_proj, this.up_proj, x, this.cfg.activation));
  }
}
