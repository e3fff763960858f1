// RMSNorm as Hugging Face's LlamaRMSNorm (weight initialised to ones, eps from rms_norm_eps).
import type { Tensor } from '../autograd/tensor.js';
import { rmsNorm } from '../kernels/norm/op.js';
import { Module } from './module.js';
import { type ParamOptions, constantParam } from './init.js';

export class RMSNorm extends Module {
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, eps = 1e-6, opts: ParamOptions = {}) {
    super();
    this.dim = dim;
    this.eps = eps;
    this.registerParameter('weight', constantParam([dim], 1, opts));
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  /** x [..., dim] → same shape. */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
