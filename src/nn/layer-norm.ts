// LayerNorm as torch.nn.LayerNorm over the last axis (weight initialised to ones, bias to zeros),
// with Hugging Face's parameter names (weight, bias; BERT checkpoints' older gamma/beta are renamed
// by the models that load them).
import type { Tensor } from '../autograd/tensor.js';
import { layerNorm } from '../kernels/norm/op.js';
import { Module } from './module.js';
import { type ParamOptions, constantParam } from './init.js';

export class LayerNorm extends Module {
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, eps = 1e-5, opts: ParamOptions = {}) {
    super();
    this.dim = dim;
    this.eps = eps;
    this.registerParameter('weight', constantParam([dim], 1, opts));
    this.registerParameter('bias', constantParam([dim], 0, opts));
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  get bias(): Tensor {
    return this.param('bias');
  }

  /** x [..., dim] → same shape. */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
