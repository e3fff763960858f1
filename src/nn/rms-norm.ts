// RMSNorm as Hugging Face's LlamaRMSNorm (weight initialised to ones, eps from rms_norm_eps), or
// with an offset as Gemma's: x·rsqrt(mean(x²) + eps)·(offset + weight), weight initialised to zeros.
import type { Tensor } from '../autograd/tensor.js';
import { rmsNorm } from '../kernels/norm/op.js';
import { Module } from './module.js';
import { type ParamOptions, constantParam } from './init.js';

export class RMSNorm extends Module {
  readonly dim: number;
  readonly eps: number;
  /** Added to the weight before it multiplies (Gemma: 1); 0 for LLaMA's norm. */
  readonly offset: number;

  constructor(dim: number, eps = 1e-6, opts: ParamOptions & { offset?: number } = {}) {
    super();
    this.dim = dim;
    this.eps = eps;
    this.offset = opts.offset ?? 0;
    this.registerParameter('weight', constantParam([dim], this.offset === 0 ? 1 : 0, opts));
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  /** x [..., dim] → same shape. The offset is added inside the norm's kernel (no launch of its own). */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps, this.offset);
  }
}
