// x.softmax(axis), x.logSoftmax(axis), x.logSigmoid(): installed on Tensor from here, above the
// autograd layer that defines the class, as every kernel family installs its own.
import { Tensor } from '../../autograd/tensor.js';
import { logSigmoid, logSoftmax, softmax } from './op.js';

declare module '../../autograd/tensor.js' {
  interface Tensor {
    /** softmax along `axis` (last by default). */
    softmax(axis?: number): Tensor;
    /** log-softmax along `axis` (last by default). */
    logSoftmax(axis?: number): Tensor;
    /** log σ(x), elementwise. */
    logSigmoid(): Tensor;
  }
}

const P = Tensor.prototype;
P.softmax = function (axis?: number) { return softmax(this, axis); };
P.logSoftmax = function (axis?: number) { return logSoftmax(this, axis); };
P.logSigmoid = function () { return logSigmoid(this); };
