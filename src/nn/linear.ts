// Linear: y = x·Wᵀ + b with W stored [out, in] as in PyTorch (and in Hugging Face checkpoints), so
// the forward is one matmul with transposeB and no transposed copy of the weight.
import type { Tensor } from '../autograd/tensor.js';
import { matmul, matmulBfloat16Weight } from '../kernels/matmul/op.js';
import { add } from '../kernels/elementwise/op.js';
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

  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.hasBias ? this.param('bias') : null;
  }

  /** x [..., in] → [..., out]. */
  forward(x: Tensor): Tensor {
    if (x.shape.at(-1) !== this.inFeatures) throw new Error(`Linear(${this.inFeatures} → ${this.outFeatures}): x's last dimension is ${x.shape.at(-1)} (x is [${x.shape}])`);
    const w = this.weight;
    // A frozen weight kept in bfloat16 (storeFrozenWeightsInBfloat16) is widened per use.
    const y = w.dtype === 'bfloat16' ? matmulBfloat16Weight(x, w, { transposeB: true }) : matmul(x, w, { transposeB: true });
    return this.hasBias ? add(y, this.bias!) : y;
  }
}
