// Linear: y = x·Wᵀ + b with W stored [out, in] as in PyTorch (and in Hugging Face checkpoints), so
// the forward is one matmul with transposeB and no transposed copy of the weight.
import type { Tensor } from '../autograd/tensor.js';
import { matmul, matmulBfloat16Weight, matmulGated, matmulGroup, matmulNf4Weight } from '../kernels/matmul/op.js';
import { gatedActivation } from '../kernels/activation/op.js';
import type { GatedActivation } from '../kernels/activation/contract.js';
import { SKINNY_MAX_ROWS } from '../kernels/matmul/skinny.js';
import { sizeOf } from '../autograd/shape.js';
import { type Nf4Weight, dequantizeNf4, quantizeNf4 } from '../kernels/nf4/op.js';
import { isGradEnabled, noGrad, tidy } from '../autograd/scope.js';
import { add, cast } from '../kernels/elementwise/op.js';
import { toBfloat16 } from '../kernels/bfloat16/op.js';
import { Module } from './module.js';
import { type ParamOptions, ParamRng, constantParam, normalParam } from './init.js';

/** How a Linear layer holds its weight: float (trainable) or frozen storage at lower precision. */
export type WeightStorage = 'float32' | 'bfloat16' | 'nf4';

export interface LinearOptions extends ParamOptions {
  bias?: boolean;
  /**
   * 'bfloat16' or 'nf4': the weight is frozen storage, zero-filled, to be set with loadWeight() (a
   * checkpoint streamed into a QLoRA base without ever holding it in float32). Default: float.
   */
  storage?: WeightStorage;
  /** Standard deviation of the random weight (default 1/√in, the scale of PyTorch's default init). */
  std?: number;
  seed?: number;
  rng?: ParamRng;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.hasBias = opts.bias ?? false;
    const rng = opts.rng ?? new ParamRng(opts.seed ?? 0);
    const storage = opts.storage ?? 'float32';
    if (storage === 'float32') {
      this.registerParameter('weight', normalParam([outFeatures, inFeatures], opts.std ?? 1 / Math.sqrt(inFeatures), rng, opts));
    } else {
      // Zeros in the stored form, one matrix at a time: never a float32 copy of the whole model.
      const zeros = () => constantParam([outFeatures, inFeatures], 0, { ...opts, dtype: 'float32' });
      if (storage === 'bfloat16') this.registerParameter('weight', noGrad(() => tidy(() => toBfloat16(zeros()))));
      else this.registerNf4(noGrad(() => tidy(() => quantizeNf4(zeros()))));
    }
    if (this.hasBias) this.registerParameter('bias', constantParam([outFeatures], 0, opts));
  }

  /** How the weight is held now. */
  get storage(): WeightStorage | 'float64' {
    if (this.nf4Shape) return 'nf4';
    const d = this.param('weight').dtype;
    return d === 'bfloat16' || d === 'float64' ? d : 'float32';
  }

  /**
   * Sets the weight from float values of its shape, in the form it is held (rounded to bfloat16,
   * quantized to NF4, or copied); a frozen weight stays frozen.
   */
  loadWeight(values: Tensor): void {
    if (values.shape.length !== 2 || values.shape[0] !== this.outFeatures || values.shape[1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures} → ${this.outFeatures}).loadWeight: the weight is [${this.outFeatures}, ${this.inFeatures}], the values are [${values.shape}]`);
    }
    if (this.nf4Shape) this.holdInNf4(values);
    else this.loadStateDict({ weight: values, ...(this.hasBias ? { bias: this.param('bias') } : {}) });
  }

  /** Quantizes `values` (float or bfloat16, the weight's shape) and holds them as the weight, in place of what held it. */
  private holdInNf4(values: Tensor): void {
    const q = noGrad(() => tidy(() => quantizeNf4(values.dtype === 'bfloat16' ? cast(values, 'float32') : values)));
    for (const name of this.nf4Shape ? ['weight_nf4_codes', 'weight_nf4_absmax'] : ['weight']) this.unregisterParameter(name);
    this.registerNf4(q);
  }

  private registerNf4(q: Nf4Weight): void {
    this.registerParameter('weight_nf4_codes', q.codes);
    this.registerParameter('weight_nf4_absmax', q.absmax).requiresGrad = false;
    this.nf4Shape = [...q.shape];
  }

  /** The weight's shape while it is held in NF4 (quantizeWeightToNf4), else null. */
  private nf4Shape: number[] | null = null;

  get weight(): Tensor {
    if (this.nf4Shape) throw new Error(`Linear(${this.inFeatures} → ${this.outFeatures}): the weight is held in NF4 (nf4Weight; dequantizeWeight() restores it)`);
    return this.param('weight');
  }

  /** The weight in NF4 (parameters weight_nf4_codes and weight_nf4_absmax), or null. */
  get nf4Weight(): Nf4Weight | null {
    return this.nf4Shape ? { codes: this.param('weight_nf4_codes'), absmax: this.param('weight_nf4_absmax'), shape: this.nf4Shape } : null;
  }

  /**
   * Replaces a frozen weight by its NF4 form (QLoRA's 4-bit base): two parameters, the packed
   * codes (int32) and the block maxima (float32, frozen). The product dequantizes per use.
   */
  quantizeWeightToNf4(): void {
    const w = this.weight;
    if (w.requiresGrad) throw new Error('quantizeWeightToNf4: the weight takes gradients; only a frozen weight can be quantized');
    this.holdInNf4(w);
  }

  /** Back from NF4 to a float32 weight parameter (frozen): the dequantized values. */
  dequantizeWeight(): void {
    const q = this.nf4Weight;
    if (!q) return;
    const w = noGrad(() => dequantizeNf4(q));
    this.unregisterParameter('weight_nf4_codes');
    this.unregisterParameter('weight_nf4_absmax');
    this.nf4Shape = null;
    this.registerParameter('weight', w).requiresGrad = false;
  }
  get bias(): Tensor | null {
    return this.hasBias ? this.param('bias') : null;
  }

  /** x [..., in] → [..., out]. */
  forward(x: Tensor): Tensor {
    if (x.shape.at(-1) !== this.inFeatures) throw new Error(`Linear(${this.inFeatures} → ${this.outFeatures}): x's last dimension is ${x.shape.at(-1)} (x is [${x.shape}])`);
    // A frozen weight kept in NF4 or bfloat16 (nn/low-precision-weights.ts) is widened per use.
    const q = this.nf4Weight;
    const w = q ? null : this.weight;
    const y = q ? matmulNf4Weight(x, q, { transposeB: true })
      : w!.dtype === 'bfloat16' ? matmulBfloat16Weight(x, w!, { transposeB: true })
      : matmul(x, w!, { transposeB: true });
    return this.hasBias ? add(y, this.bias!) : y;
  }
}

/**
 * The forwards of layers sharing x (a decoder layer's q/k/v, or gate/up) as one product where that
 * computes exactly what they would: few rows (a decoding step, at most SKINNY_MAX_ROWS), no graph to
 * record, plain Linear layers holding their weights alike, and shapes for which the separate
 * products take the skinny kernel too (K ≥ 64 and a multiple of 8, every N ≥ 16); biases (Qwen2's
 * q/k/v) are added to each product after, as Linear.forward adds its own. Else each layer's own
 * forward (LoRA layers, training, prefill).
 */
export function linearGroup(layers: Module[], x: Tensor): Tensor[] {
  const plain = groupable(layers, x, true);
  if (!plain) return layers.map((l) => (l as Module & { forward(x: Tensor): Tensor }).forward(x));
  const ys = matmulGroup(x, plain.map((l) => l.nf4Weight ?? l.weight));
  return ys.map((y, i) => (plain[i].hasBias ? add(y, plain[i].bias!) : y));
}

/**
 * act(gate(x)) ⊙ up(x), a gated MLP's first half (act 'silu': LLaMA's SwiGLU; 'gelu_tanh': Gemma-2's
 * GeGLU): one launch (matmulGated) where linearGroup would group the two layers, their weights are
 * of one shape and K fits the skinny kernel's fast body (a decoding step); else swiglu or geglu over
 * linearGroup's results.
 */
export function gatedLinear(gate: Module, up: Module, x: Tensor, activation: GatedActivation): Tensor {
  const plain = groupable([gate, up], x);
  const K = x.shape.at(-1) ?? 0;
  if (plain && plain[0].outFeatures === plain[1].outFeatures && K % (plain[0].nf4Weight ? 32 : 8) === 0) {
    return matmulGated(x, plain[0].nf4Weight ?? plain[0].weight, plain[1].nf4Weight ?? plain[1].weight, activation);
  }
  const [g, u] = linearGroup([gate, up], x);
  return gatedActivation(g, u, activation);
}

/** gatedLinear with SiLU: swiglu(gate(x), up(x)), a LLaMA MLP's first half. */
export function swigluLinear(gate: Module, up: Module, x: Tensor): Tensor {
  return gatedLinear(gate, up, x, 'silu');
}

/** The layers as plain Linears if their products can run as one group on x (linearGroup), else null. */
function groupable(layers: Module[], x: Tensor, biases = false): Linear[] | null {
  const K = x.shape.at(-1) ?? 0;
  const plain = layers.filter((l): l is Linear => l instanceof Linear && (biases || !l.hasBias) && l.inFeatures === K);
  const storage = plain[0]?.storage;
  const grouped = plain.length === layers.length && layers.length > 1 && x.dtype === 'float32' && storage !== 'float64'
    && plain.every((l) => l.storage === storage && l.outFeatures >= 16)
    && K >= 64 && K % 8 === 0 && sizeOf(x.shape.slice(0, -1)) <= SKINNY_MAX_ROWS
    && !(isGradEnabled() && (x.requiresGrad || plain.some((l) => !l.nf4Weight && l.weight.requiresGrad)));
  return grouped ? plain : null;
}
