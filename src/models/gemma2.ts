// Gemma2ForCausalLM as transformers' modeling_gemma2.py computes it (eager attention, the path with
// soft-capping): embeddings scaled by √hidden, RMSNorm with (1 + weight), four norms per layer (the
// attention's and the MLP's outputs normalized before their residual adds), GeGLU, and the switches
// of gemma2-config.ts read by the shared blocks.
import type { Tensor } from '../autograd/tensor.js';
import { add } from '../kernels/elementwise/op.js';
import { Module } from '../nn/module.js';
import { RMSNorm } from '../nn/rms-norm.js';
import type { ParamRng } from '../nn/init.js';
import { DecoderAttention, type DecoderInitOptions, type DecoderShared, GatedMLP, type LayerInputs } from './decoder-blocks.js';
import { type DecoderLayer, DecoderModel, addNorm } from './decoder-model.js';
import { DecoderForCausalLM } from './causal-lm.js';
import { type Gemma2Config, resolveGemma2Config } from './gemma2-config.js';

/** Gemma2RMSNorm: x·rsqrt(mean(x²) + eps)·(1 + weight), the weight starting at zeros. */
const gemmaNorm = (s: DecoderShared, opts: DecoderInitOptions) => new RMSNorm(s.cfg.hiddenSize, s.cfg.rmsNormEps, { ...opts, offset: 1 });

export class Gemma2DecoderLayer extends Module implements DecoderLayer {
  readonly self_attn: DecoderAttention;
  readonly mlp: GatedMLP;
  readonly input_layernorm: RMSNorm;
  readonly post_attention_layernorm: RMSNorm;
  readonly pre_feedforward_layernorm: RMSNorm;
  readonly post_feedforward_layernorm: RMSNorm;

  constructor(s: DecoderShared, layer: number, rng: ParamRng, std: number, opts: DecoderInitOptions) {
    super();
    this.self_attn = this.registerModule('self_attn', new DecoderAttention(s, layer, rng, std, opts));
    this.mlp = this.registerModule('mlp', new GatedMLP(s.cfg, rng, std, opts));
    this.input_layernorm = this.registerModule('input_layernorm', gemmaNorm(s, opts));
    this.post_attention_layernorm = this.registerModule('post_attention_layernorm', gemmaNorm(s, opts));
    this.pre_feedforward_layernorm = this.registerModule('pre_feedforward_layernorm', gemmaNorm(s, opts));
    this.post_feedforward_layernorm = this.registerModule('post_feedforward_layernorm', gemmaNorm(s, opts));
  }

  /** h = x + norm(attn(norm(x))); h + norm(mlp(norm(h))). */
  forward(x: Tensor, inputs: LayerInputs): Tensor {
    const [h, m] = this.forwardUnsummed(x, undefined, inputs);
    return add(h, m);
  }

  forwardUnsummed(x: Tensor, branch: Tensor | undefined, inputs: LayerInputs): [Tensor, Tensor] {
    const [residual, xn] = addNorm(this.input_layernorm, x, branch);
    const attn = this.post_attention_layernorm.forward(this.self_attn.forward(xn, inputs));
    const [h, hn] = addNorm(this.pre_feedforward_layernorm, residual, attn);
    return [h, this.post_feedforward_layernorm.forward(this.mlp.forward(hn))];
  }
}

export class Gemma2ForCausalLM extends DecoderForCausalLM<Gemma2DecoderLayer> {
  declare readonly config: Gemma2Config;

  constructor(config: Gemma2Config, opts: DecoderInitOptions = {}) {
    const resolved = resolveGemma2Config(config);
    super(config, {
      architecture: 'Gemma2ForCausalLM',
      modelType: 'gemma2',
      resolved,
      decoder: (s, rng, std) => new DecoderModel(s, rng, std, opts, (i) => new Gemma2DecoderLayer(s, i, rng, std, opts), () => gemmaNorm(s, opts)),
    }, opts);
  }
}
