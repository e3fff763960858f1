// CPU reference for dropout: the mask from the same counter-based hash as the WGSL kernel.
import { registerKernel } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type DropoutAttrs, dropThreshold, mix32 } from './contract.js';

export function registerDropoutCpu(): void {
  registerKernel<DropoutAttrs>('dropout', 'cpu', (device, [x], { p, seed }) => {
    const n = sizeOf(x.shape);
    const o = device.alloc(x.dtype, n);
    const src = cpuArray(x.storage), dst = cpuArray(o);
    // float32: the scale rounded to f32 as the kernel holds it (the f32 × f32 product is then exact in
    // float64 and rounds once on the store, as the device's multiply does).
    const threshold = dropThreshold(p), s = mix32(seed >>> 0);
    const scale = x.dtype === 'float32' ? Math.fround(1 / (1 - p)) : 1 / (1 - p);
    for (let i = 0; i < n; i++) dst[i] = mix32((i ^ s) >>> 0) >= threshold ? src[i] * scale : 0;
    return [{ storage: o, shape: x.shape, dtype: x.dtype }];
  });
}
