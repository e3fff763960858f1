// x.reshape(shape), x.transpose(), x.slice(begin, size), …: installed on Tensor from here.
import { Tensor } from '../../autograd/tensor.js';
import type { Shape } from '../../autograd/shape.js';
import * as cp from './op.js';

declare module '../../autograd/tensor.js' {
  interface Tensor {
    reshape(shape: Shape): Tensor; flatten(): Tensor; squeeze(axis?: number): Tensor; unsqueeze(axis: number): Tensor;
    permute(perm: number[]): Tensor; transpose(a?: number, b?: number): Tensor;
    slice(begin: number[], size: number[]): Tensor; narrow(axis: number, start: number, length: number): Tensor;
    broadcastTo(shape: Shape): Tensor; clone(): Tensor;
  }
}

const P = Tensor.prototype;
P.reshape = function (shape) { return cp.reshape(this, shape); };
P.flatten = function () { return cp.flatten(this); };
P.squeeze = function (axis) { return cp.squeeze(this, axis); };
P.unsqueeze = function (axis) { return cp.unsqueeze(this, axis); };
P.permute = function (perm) { return cp.permute(this, perm); };
P.transpose = function (a, b) { return cp.transpose(this, a, b); };
P.slice = function (begin, size) { return cp.slice(this, begin, size); };
P.narrow = function (axis, start, length) { return cp.narrow(this, axis, start, length); };
P.broadcastTo = function (shape) { return cp.broadcastTo(this, shape); };
P.clone = function () { return cp.clone(this); };
