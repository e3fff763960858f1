// Tensor methods that belong to no kernel family: backward() and to(device). (Each kernel family
// installs its own op methods from its methods.ts.) They are installed from a file of their own,
// which the public entry imports and nothing in autograd does, because to() creates tensors
// (create.ts) and backward() is the graph walk (backward.ts), and both of those import tensor.ts.
import { Tensor } from './tensor.js';
import { backward, type BackwardOptions } from './backward.js';
import type { Device } from './device.js';
import { tensor } from './create.js';

declare module './tensor.js' {
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
