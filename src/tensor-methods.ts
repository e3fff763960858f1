// Tensor methods that belong to no kernel family: backward() and to(device). (Each kernel family
// installs its own op methods from its methods.ts.) They live here, above src/autograd, because
// to() creates tensors and backward() is the graph walk in autograd/backward.ts.
import { Tensor } from './autograd/tensor.js';
import { backward, type BackwardOptions } from './autograd/backward.js';
import type { Device } from './autograd/device.js';
import { tensor } from './autograd/create.js';

declare module './autograd/tensor.js' {
  interface Tensor {
    backward(gradient?: Tensor, opts?: BackwardOptions): void;
    /** A copy on another device (read back, then uploaded); the same tensor if already there. */
    to(device: Device): Promise<Tensor>;
  }
}

const P = Tensor.prototype;
P.backward = function (gradient?: Tensor, opts?: BackwardOptions) { backward(this, gradient, opts); };
P.to = async function (device) {
  if (device === this.device) return this;
  if (!device.supportsDtype(this.dtype)) throw new Error(`the ${device.kind} device has no ${this.dtype}; cast first`);
  return tensor(await this.data(), this.shape, { device, dtype: this.dtype, requiresGrad: this.requiresGrad });
};
