// CPU reference for the bfloat16 conversions (the format: src/autograd/bfloat16.ts), element by element.
import { registerKernel } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import type { DType } from '../../autograd/dtype.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { bfloat16Bits, bfloat16Value } from '../../autograd/bfloat16.js';

export function registerBfloat16Cpu(): void {
  registerKernel<Record<string, never>>('toBfloat16', 'cpu', (device, [x]) => {
    const n = sizeOf(x.shape);
    const o = device.alloc('bfloat16', n);
    const src = cpuArray(x.storage), dst = cpuArray(o);
    for (let i = 0; i < n; i++) dst[i] = bfloat16Bits(src[i]);
    return [{ storage: o, shape: x.shape, dtype: 'bfloat16' }];
  });
  registerKernel<{ dtype: DType }>('fromBfloat16', 'cpu', (device, [x], { dtype }) => {
    const n = sizeOf(x.shape);
    const o = device.alloc(dtype, n);
    const src = cpuArray(x.storage), dst = cpuArray(o);
    for (let i = 0; i < n; i++) dst[i] = bfloat16Value(src[i]);
    return [{ storage: o, shape: x.shape, dtype }];
  });
}
