// x.add(y), x.exp(), x.cast('int32'), …: installed on Tensor from here, above the autograd layer
// that defines the class.
import { Tensor } from '../../autograd/tensor.js';
import type { DType } from '../../autograd/dtype.js';
import * as ew from './op.js';

type TL = ew.TensorLike;

declare module '../../autograd/tensor.js' {
  interface Tensor {
    add(b: TL): Tensor; sub(b: TL): Tensor; mul(b: TL): Tensor; div(b: TL): Tensor; pow(b: TL): Tensor;
    maximum(b: TL): Tensor; minimum(b: TL): Tensor;
    neg(): Tensor; abs(): Tensor; exp(): Tensor; log(): Tensor; sqrt(): Tensor; rsqrt(): Tensor;
    square(): Tensor; reciprocal(): Tensor; relu(): Tensor; sigmoid(): Tensor; tanh(): Tensor;
    sin(): Tensor; cos(): Tensor; sign(): Tensor;
    greater(b: TL): Tensor; greaterEqual(b: TL): Tensor; less(b: TL): Tensor; lessEqual(b: TL): Tensor;
    equal(b: TL): Tensor; notEqual(b: TL): Tensor;
    cast(dtype: DType): Tensor;
  }
}

const P = Tensor.prototype;
for (const name of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual'] as const) {
  P[name] = function (this: Tensor, b: TL) { return ew[name](this, b); };
}
for (const name of ['neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'square', 'reciprocal', 'relu', 'sigmoid', 'tanh', 'sin', 'cos', 'sign'] as const) {
  P[name] = function (this: Tensor) { return ew[name](this); };
}
P.cast = function (dtype) { return ew.cast(this, dtype); };
