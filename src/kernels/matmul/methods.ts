// x.matmul(y): installed on the Tensor prototype by declaration merging, as every kernel family
// installs its own methods (the Tensor class lives below the kernels).
import { Tensor } from '../../autograd/tensor.js';
import type { MatmulAttrs } from './contract.js';
import { matmul } from './op.js';

declare module '../../autograd/tensor.js' {
  interface Tensor {
    /** this @ b, as torch.matmul (see matmul()). */
    matmul(b: Tensor, opts?: MatmulAttrs): Tensor;
  }
}

Tensor.prototype.matmul = function (this: Tensor, b: Tensor, opts?: MatmulAttrs) {
  return matmul(this, b, opts);
};
