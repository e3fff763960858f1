// Tensor methods (x.add(y), x.sum(0), …) delegate to the op functions. They are installed here,
// above the kernels, because the Tensor class lives below them in src/autograd.
import { Tensor } from './autograd/tensor.js';
import { backward, type BackwardOptions } from './autograd/backward.js';
import type { DType } from './autograd/dtype.js';
import type { Shape } from './autograd/shape.js';
import type { Device } from './autograd/device.js';
import { tensor } from './autograd/create.js';
import * as ew from './kernels/elementwise/op.js';
import * as red from './kernels/reduce/op.js';
import * as cp from './kernels/copy/op.js';

type TL = ew.TensorLike;

declare module './autograd/tensor.js' {
  interface Tensor {
    backward(gradient?: Tensor, opts?: BackwardOptions): void;
    add(b: TL): Tensor; sub(b: TL): Tensor; mul(b: TL): Tensor; div(b: TL): Tensor; pow(b: TL): Tensor;
    maximum(b: TL): Tensor; minimum(b: TL): Tensor;
    neg(): Tensor; abs(): Tensor; exp(): Tensor; log(): Tensor; sqrt(): Tensor; rsqrt(): Tensor;
    square(): Tensor; reciprocal(): Tensor; relu(): Tensor; sigmoid(): Tensor; tanh(): Tensor;
    sin(): Tensor; cos(): Tensor; sign(): Tensor;
    greater(b: TL): Tensor; greaterEqual(b: TL): Tensor; less(b: TL): Tensor; lessEqual(b: TL): Tensor;
    equal(b: TL): Tensor; notEqual(b: TL): Tensor;
    cast(dtype: DType): Tensor;
    sum(axis?: red.Axes, keepdims?: boolean): Tensor; mean(axis?: red.Axes, keepdims?: boolean): Tensor;
    max(axis?: red.Axes, keepdims?: boolean): Tensor; min(axis?: red.Axes, keepdims?: boolean): Tensor;
    reshape(shape: Shape): Tensor; flatten(): Tensor; squeeze(axis?: number): Tensor; unsqueeze(axis: number): Tensor;
    permute(perm: number[]): Tensor; transpose(a?: number, b?: number): Tensor;
    slice(begin: number[], size: number[]): Tensor; narrow(axis: number, start: number, length: number): Tensor;
    broadcastTo(shape: Shape): Tensor; clone(): Tensor;
    /** A copy on another device (read back, then uploaded); same tensor if already there. */
    to(device: Device): Promise<Tensor>;
  }
}

const P = Tensor.prototype;
P.backward = function (gradient?: Tensor, opts?: BackwardOptions) { backward(this, gradient, opts); };
for (const name of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual'] as const) {
  P[name] = function (this: Tensor, b: TL) { return ew[name](this, b); };
}
for (const name of ['neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'square', 'reciprocal', 'relu', 'sigmoid', 'tanh', 'sin', 'cos', 'sign'] as const) {
  P[name] = function (this: Tensor) { return ew[name](this); };
}
P.cast = function (dtype) { return ew.cast(this, dtype); };
for (const name of ['sum', 'mean', 'max', 'min'] as const) {
  P[name] = function (this: Tensor, axis?: red.Axes, keepdims?: boolean) { return red[name](this, axis, keepdims); };
}
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
P.to = async function (device) {
  if (device === this.device) return this;
  if (!device.supportsDtype(this.dtype)) throw new Error(`the ${device.kind} device has no ${this.dtype}; cast first`);
  return tensor(await this.data(), this.shape, { device, dtype: this.dtype, requiresGrad: this.requiresGrad });
};
