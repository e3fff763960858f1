// CPU reference for RoPE: the float32 angle (as Hugging Face and the WGSL kernel compute it; see
// contract.ts), then cos, sin and the rotation in float64.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Device } from '../../autograd/device.js';
import { sizeOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type RopeAttrs, ropeLayout, ropePairLayout } from './contract.js';

/** RoPE of one tensor x [B, H, T, D] into a new one (see contract.ts). */
export function ropeCpu(device: Device, x: TensorInfo, positions: TensorInfo, invFreq: TensorInfo, { rotaryDim, inverse }: RopeAttrs): TensorInfo {
  const { batch, heads, seq, headDim: D, half, perBatch } = ropeLayout(x, positions, invFreq, rotaryDim);
  const out = { storage: device.alloc(x.dtype, sizeOf(x.shape)), shape: x.shape, dtype: x.dtype };
  const src = cpuArray(x.storage), dst = cpuArray(out.storage), pos = cpuArray(positions.storage), freq = cpuArray(invFreq.storage);
  const sign = inverse ? -1 : 1;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let t = 0; t < seq; t++) {
        const p = Math.fround(pos[perBatch ? b * seq + t : t]);
        const base = ((b * heads + h) * seq + t) * D;
        for (let j = 0; j < half; j++) {
          const theta = Math.fround(p * Math.fround(freq[j]));
          const c = Math.cos(theta), s = sign * Math.sin(theta);
          const x1 = src[base + j], x2 = src[base + j + half];
          dst[base + j] = x1 * c - x2 * s;
          dst[base + j + half] = x2 * c + x1 * s;
        }
        for (let j = 2 * half; j < D; j++) dst[base + j] = src[base + j];
      }
    }
  }
  return out;
}

export function registerRopeCpu(): void {
  registerKernel<RopeAttrs>('applyRope', 'cpu', (device, [x, positions, invFreq], attrs) => [ropeCpu(device, x, positions, invFreq, attrs)]);
  registerKernel<RopeAttrs>('applyRopePair', 'cpu', (device, [q, k, positions, invFreq], attrs) => {
    ropePairLayout(q, k, positions, invFreq, attrs.rotaryDim);
    return [ropeCpu(device, q, positions, invFreq, attrs), ropeCpu(device, k, positions, invFreq, attrs)];
  });
}
