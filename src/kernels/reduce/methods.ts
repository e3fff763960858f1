// x.sum(axis), x.mean(), x.max(axis, keepdims), x.min(): installed on Tensor from here.
import { Tensor } from '../../autograd/tensor.js';
import * as red from './op.js';

declare module '../../autograd/tensor.js' {
  interface Tensor {
    sum(axis?: red.Axes, keepdims?: boolean): Tensor; mean(axis?: red.Axes, keepdims?: boolean): Tensor;
    max(axis?: red.Axes, keepdims?: boolean): Tensor; min(axis?: red.Axes, keepdims?: boolean): Tensor;
  }
}

const P = Tensor.prototype;
for (const name of ['sum', 'mean', 'max', 'min'] as const) {
  P[name] = function (this: Tensor, axis?: red.Axes, keepdims?: boolean) { return red[name](this, axis, keepdims); };
}
