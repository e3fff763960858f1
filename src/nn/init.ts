// Parameter initialisation from a module's own seeded stream, so a model built with the same seed is
// the same model whatever else has drawn random numbers (tests compare against it).
import type { Tensor } from '../autograd/tensor.js';
import type { Device } from '../autograd/device.js';
import { tensor, full } from '../autograd/create.js';
import { allocArray } from '../autograd/dtype.js';
import { sizeOf, type Shape } from '../autograd/shape.js';
import { mulberry32 } from '../autograd/random.js';

export type FloatDType = 'float32' | 'float64';

/** Where and how parameters are made. */
export interface ParamOptions {
  device?: Device;
  /** float32 (default) or float64 (CPU device only). */
  dtype?: FloatDType;
}

/** Draws standard normals (Box–Muller) from a seeded stream. */
export class ParamRng {
  private readonly uniform: () => number;
  constructor(seed: number) {
    this.uniform = mulberry32(seed >>> 0 || 1);
  }
  normal(): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
}

/** A tensor of N(mean, std²) samples; std 0 fills `mean` on the device without drawing (weights about to be loaded). */
export function normalParam(shape: Shape, std: number, rng: ParamRng, opts: ParamOptions = {}, mean = 0): Tensor {
  if (std === 0) return constantParam(shape, mean, opts);
  const dtype = opts.dtype ?? 'float32';
  const v = allocArray(dtype, sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = mean + std * rng.normal();
  return tensor(v, shape, { dtype, ...(opts.device ? { device: opts.device } : {}) });
}

/** A tensor filled with one value. */
export function constantParam(shape: Shape, value: number, opts: ParamOptions = {}): Tensor {
  return full(shape, value, { dtype: opts.dtype ?? 'float32', ...(opts.device ? { device: opts.device } : {}) });
}
