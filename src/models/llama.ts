// LlamaForCausalLM (LLaMA 1/2/3, Mistral) as transformers' modeling_llama.py computes it: pre-norm
// decoder layers, rotate-half RoPE, grouped-query attention, Mistral's sliding window, SiLU-gated
// MLP. Every op runs in the model's dtype; RMSNorm and the attention softmax, which transformers
// upcasts to float32, are float32 or wider here because no dtype is narrower. Qwen2 uses the same
// layer (qwen2.ts).
import type { Tensor } from '../autograd/tensor.js';
import { add } from '../kernels/elementwise/op.js';
import { Module } from '../nn/module.js';
import { RMSNorm } from '../nn/rms-norm.js';
import type { ParamRng } from '../nn/init.js';
import { type LlamaConfig, resolveLlamaConfig } from './llama-config.js';
import { DecoderAttention, type DecoderInitOptions, type DecoderShared, GatedMLP, type LayerInputs } from './decoder-blocks.js';
import { type DecoderLayer, DecoderModel, addNorm } from './decoder-model.js';
import { DecoderForCausalLM } from './causal-lm.js';
import type { ResolvedDecoderConfig } from './decoder-config.js';

export type LlamaInitOptions = DecoderInitOptions;

export class LlamaDecoderLayer extends Module implements DecoderLayer {
  readonly self_attn: DecoderAttention;
  readonly mlp: GatedMLP;
  readonly input_layernorm: RMSNorm;
  readonly post_attention_layernorm: RMSNorm;

  constructor(s: DecoderShared, layer: number, rng: ParamRng, std: number, opts: DecoderInitOptions) {
    super();
    const { cfg } = s;
    this.self_attn = this.registerModule('self_attn', new DecoderAttention(s, layer, rng, std, opts));
    this.mlp = this.registerModule('mlp', new GatedMLP(cfg, rng, std, opts));
    this.input_layernorm = this.registerModule('input_layernorm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, opts));
    this.post_attention_layernorm = this.registerModule('post_attention_layernorm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, opts));
  }

  /** Pre-norm residual block: h = x + attn(norm(x)); h + mlp(norm(h)). */
  forward(x: Tensor, inputs: LayerInputs): Tensor {
    const [h, m] = this.forwardUnsummed(x, undefined, inputs);
    return add(h, m);
  }

  /**
   * The block with its residual sums left to the next kernel (DecoderLayer.forwardUnsummed); the
   * attention's residual add and the norm after it are one kernel where no gradient is recorded.
   */
  forwardUnsummed(x: Tensor, branch: Tensor | undefined, inputs: LayerInputs): [Tensor, Tensor] {
    const [residual, xn] = addNorm(this.input_layernorm, x, branch);
    const attn = this.self_attn.forward(xn, inputs);
    const [h, hn] = addNorm(this.post_attention_layernorm, residual, attn);
    return [h, this.mlp.forward(hn)];
  }
}

/** The decoder stack of LLaMA's layers (LLaMA, Mistral, Qwen2). */
export function llamaDecoder(cfg: ResolvedDecoderConfig, opts: DecoderInitOptions) {
  return (s: DecoderShared, rng: ParamRng, std: number) => new DecoderModel(
    s, rng, std, opts,
    (i) => new LlamaDecoderLayer(s, i, rng, std, opts),
    () => new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, opts),
  );
}

/**
 * LLaMA / Mistral with a language-model head. Built with random weights (seeded); load a checkpoint
 * with loadPretrainedCausalLM (or loadStateDict(await loadSafetensors(path, { device }))).
 */
export class LlamaForCausalLM extends DecoderForCausalLM<LlamaDecoderLayer> {
  declare readonly config: LlamaConfig;

  constructor(config: LlamaConfig, opts: LlamaInitOptions = {}) {
    const resolved = resolveLlamaConfig(config);
    const mistral = config.model_type === 'mistral' || (config.architectures ?? []).includes('MistralForCausalLM');
    super(config, {
      architecture: mistral ? 'MistralForCausalLM' : 'LlamaForCausalLM',
      modelType: mistral ? 'mistral' : 'llama',
      resolved,
      decoder: llamaDecoder(resolved, opts),
    }, opts);
  }
}
