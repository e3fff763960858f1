// CPU reference for NF4 quantization and dequantization (see contract.ts).
import { registerKernel } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { NF4_BLOCK, NF4_ZERO, nearestLevel, nf4Blocks, nf4Value, nf4Words } from './contract.js';
import type { Nf4Attrs } from './op.js';

export function registerNf4Cpu(): void {
  registerKernel<Record<string, never>>('quantizeNf4', 'cpu', (device, [x]) => {
    const n = sizeOf(x.shape);
    const codes = device.alloc('int32', nf4Words(n)), absmax = device.alloc('float32', nf4Blocks(n));
    const src = cpuArray(x.storage), c = cpuArray(codes) as Int32Array, a = cpuArray(absmax);
    for (let b = 0; b < nf4Blocks(n); b++) {
      const end = Math.min(n, (b + 1) * NF4_BLOCK);
      let m = 0;
      for (let i = b * NF4_BLOCK; i < end; i++) m = Math.max(m, Math.abs(Math.fround(src[i])));
      a[b] = m;
      for (let i = b * NF4_BLOCK; i < end; i++) {
        const k = m > 0 ? nearestLevel(Math.fround(src[i]), m) : NF4_ZERO;
        c[i >> 3] |= k << (4 * (i & 7));
      }
    }
    return [
      { storage: codes, shape: [nf4Words(n)], dtype: 'int32' },
      { storage: absmax, shape: [nf4Blocks(n)], dtype: 'float32' },
    ];
  });
  registerKernel<Nf4Attrs>('dequantizeNf4', 'cpu', (device, [codes, absmax], { shape, dtype }) => {
    const n = sizeOf(shape);
    const o = device.alloc(dtype, n);
    const c = cpuArray(codes.storage), a = cpuArray(absmax.storage), dst = cpuArray(o);
    for (let i = 0; i < n; i++) dst[i] = nf4Value(c, a, i);
    return [{ storage: o, shape: [...shape], dtype }];
  });
}
