// CPU reference for fill.
import { registerKernel } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import type { FillAttrs } from './contract.js';

export function registerFillCpu(): void {
  registerKernel<FillAttrs>('fill', 'cpu', (device, _inputs, { shape, dtype, value }) => {
    const o = device.alloc(dtype, sizeOf(shape));
    cpuArray(o).fill(dtype === 'int32' ? Math.trunc(value) : value);
    return [{ storage: o, shape, dtype }];
  });
}
