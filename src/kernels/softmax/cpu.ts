// CPU reference for the softmax family, in float64 (JS numbers) whatever the dtype: the oracle the
// WGSL kernels are checked against. Simple, not fast.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Device } from '../../autograd/device.js';
import type { TypedArray } from '../../autograd/dtype.js';
import { sizeOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type SoftmaxAttrs, checkFloat, softmaxLayout } from './contract.js';

/**
 * softmax(x)_k = exp(x_k − m) / Σ_j exp(x_j − m) with m = max_j x_j (subtracting the max keeps
 * exp ≤ 1, so nothing overflows); logSoftmax(x)_k = (x_k − m) − log Σ_j exp(x_j − m).
 * A row whose max is not finite (all −Inf, or any +Inf) is NaN throughout; see contract.ts.
 */
export function softmaxRowsCpu(src: TypedArray, dst: TypedArray, outer: number, n: number, inner: number, log: boolean): void {
  for (let a = 0; a < outer; a++) {
    for (let c = 0; c < inner; c++) {
      const at = (k: number) => (a * n + k) * inner + c;
      let m = -Infinity;
      for (let k = 0; k < n; k++) {
        const v = src[at(k)];
        if (v > m || Number.isNaN(v)) m = v;
      }
      if (!Number.isFinite(m)) {
        for (let k = 0; k < n; k++) dst[at(k)] = NaN;
        continue;
      }
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(src[at(k)] - m);
      const lse = Math.log(s);
      for (let k = 0; k < n; k++) {
        const z = src[at(k)] - m;
        dst[at(k)] = log ? z - lse : Math.exp(z) / s;
      }
    }
  }
}

/** logσ(x) = min(x, 0) − log1p(exp(−|x|)): exp never overflows and log1p keeps tiny tails exact. */
export function logSigmoidCpu(x: number): number {
  return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
}

function like(device: Device, x: TensorInfo): TensorInfo {
  return { storage: device.alloc(x.dtype, sizeOf(x.shape)), shape: x.shape, dtype: x.dtype };
}

export function registerSoftmaxCpu(): void {
  for (const [name, log] of [['softmax', false], ['logSoftmax', true]] as const) {
    registerKernel<SoftmaxAttrs>(name, 'cpu', (device, [x], { axis }) => {
      checkFloat(name, x.dtype);
      const o = like(device, x);
      const { outer, n, inner } = softmaxLayout(x.shape, axis);
      softmaxRowsCpu(cpuArray(x.storage), cpuArray(o.storage), outer, n, inner, log);
      return [o];
    });
  }
  registerKernel('logSigmoid', 'cpu', (device, [x]) => {
    checkFloat('logSigmoid', x.dtype);
    const o = like(device, x);
    const src = cpuArray(x.storage), dst = cpuArray(o.storage);
    for (let i = 0, size = sizeOf(x.shape); i < size; i++) dst[i] = logSigmoidCpu(src[i]);
    return [o];
  });
}
