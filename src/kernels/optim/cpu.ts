// CPU reference for the fused optimizer updates: PyTorch's single-tensor loops, line by line, in
// float64 (JS numbers), stored back in the tensors' dtype.
import { registerKernel } from '../../autograd/kernel.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type AdamWAttrs, type RMSpropAttrs, adamwScalars, checkUpdate, rmspropNames } from './contract.js';

export function registerOptimCpu(): void {
  registerKernel<AdamWAttrs>('adamw', 'cpu', (_device, inputs, attrs) => {
    const n = checkUpdate('adamw', ['param', 'grad', 'exp_avg', 'exp_avg_sq'], inputs);
    const [p, g, m, v] = inputs.map((t) => cpuArray(t.storage));
    const { decay, beta1, beta2, stepSize, bc2Sqrt, eps, gradScale } = adamwScalars(attrs);
    for (let i = 0; i < n; i++) {
      const gi = gradScale === 1 ? g[i] : g[i] * gradScale;
      const mi = beta1 * m[i] + (1 - beta1) * gi;
      const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * decay - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps));
    }
    return [];
  });

  registerKernel<RMSpropAttrs>('rmsprop', 'cpu', (_device, inputs, attrs) => {
    const n = checkUpdate('rmsprop', rmspropNames(attrs), inputs);
    const { lr, alpha, eps, weightDecay, momentum, centered } = attrs;
    const gradScale = attrs.gradScale ?? 1;
    const [p, g, s] = inputs.map((t) => cpuArray(t.storage));
    let k = 3;
    const ga = centered ? cpuArray(inputs[k++].storage) : null;
    const buf = momentum > 0 ? cpuArray(inputs[k++].storage) : null;
    for (let i = 0; i < n; i++) {
      const gs = gradScale === 1 ? g[i] : g[i] * gradScale;
      const gi = weightDecay !== 0 ? gs + weightDecay * p[i] : gs;
      const si = alpha * s[i] + (1 - alpha) * gi * gi;
      s[i] = si;
      let avg: number;
      if (ga) {
        const gai = alpha * ga[i] + (1 - alpha) * gi;
        ga[i] = gai;
        avg = Math.sqrt(si - gai * gai) + eps;
      } else {
        avg = Math.sqrt(si) + eps;
      }
      if (buf) {
        const bi = momentum * buf[i] + gi / avg;
        buf[i] = bi;
        p[i] = p[i] - lr * bi;
      } else {
        p[i] = p[i] - lr * (gi / avg);
      }
    }
    return [];
  });
}
