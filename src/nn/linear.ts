// Linear: y = x·Wᵀ + b with W stored [out, in] as in PyTorch (and in Hugging Face checkpoints), so
// the forward is one matmul with transposeB and no transposed copy of the weight.
import type { Tensor } from '../autograd/tensor.js';
import { matmul, matmulBfloat16Weight } from '../kernels/matmul/op.js';
import { type Nf4Weight, dequantizeNf4, matmulNf4Weight, quantizeNf4 } from '../kernels/nf4/op.js';
import { noGrad, tidy } from '../autograd/scope.js';
import { add, cast } from '../kernels/elementwise/op.js';
import { Module } from './module.js';
import { type ParamOptions, ParamRng, constantParam, normalParam } from './init.js';

export interface LinearOptions extends ParamOptions {
  bias?: boolean;
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
    this.registerParameter('weight', normalParam([outFeatures, inFeatures], opts.std ?? 1 / Math.sqrt(inFeatures), rng, opts));
    if (this.hasBias) this.registerParameter('bias', constantParam([outFeatures], 0, opts));
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
    const q = noGrad(() => tidy(() => quantizeNf4(w.dtype === 'bfloat16' ? cast(w, 'float32') : w)));
    this.unregisterParameter('weight');
    this.registerParameter('weight_nf4_codes', q.codes);
    this.registerParameter('weight_nf4_absmax', q.absmax).requiresGrad = false;
    this.nf4Shape = [...q.shape];
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
