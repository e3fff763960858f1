// CPU reference for the norm family, in float64 whatever the dtype: the oracle for the WGSL kernels.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Device } from '../../autograd/device.js';
import type { TypedArray } from '../../autograd/dtype.js';
import { sizeOf } from '../../autograd/shape.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type NormAttrs, type NormBackwardAttrs, type RmsNormAttrs, checkAddNormInputs, checkGradInput, checkNormInputs, normLayout, normPartials } from './contract.js';

function like(device: Device, x: TensorInfo): TensorInfo {
  return { storage: device.alloc(x.dtype, sizeOf(x.shape)), shape: x.shape, dtype: x.dtype };
}

/**
 * w + offset in w's own array type: each sum rounded to the dtype once, as the add kernel stores
 * add(w, offset), so the norm multiplies by the same values the composition did.
 */
function offsetWeight(w: TypedArray, offset: number): TypedArray {
  if (offset === 0) return w;
  const out = new (w.constructor as new (n: number) => TypedArray)(w.length);
  for (let k = 0; k < w.length; k++) out[k] = w[k] + offset;
  return out;
}

/** Row statistics: the mean (0 for RMSNorm, which does not centre) and r = rsqrt(E[(x − μ)²] + eps). */
function rowStats(x: TypedArray, base: number, n: number, eps: number, centre: boolean): { mu: number; r: number } {
  let mu = 0;
  if (centre) {
    for (let k = 0; k < n; k++) mu += x[base + k];
    mu /= n;
  }
  let ss = 0;
  for (let k = 0; k < n; k++) ss += (x[base + k] - mu) ** 2;
  return { mu, r: 1 / Math.sqrt(ss / n + eps) };
}

/** y = x̂ ⊙ w (+ b), x̂ = (x − μ)·r. */
export function normForwardCpu(x: TypedArray, w: TypedArray, b: TypedArray | null, y: TypedArray, rows: number, n: number, eps: number, centre: boolean): void {
  for (let row = 0; row < rows; row++) {
    const base = row * n;
    const { mu, r } = rowStats(x, base, n, eps, centre);
    for (let k = 0; k < n; k++) y[base + k] = w[k] * ((x[base + k] - mu) * r) + (b ? b[k] : 0);
  }
}

/**
 * With g = w ⊙ dy and x̂ = (x − μ)·r:
 *   RMSNorm:   dx = r·(g − x̂ · mean(g ⊙ x̂))
 *   LayerNorm: dx = r·(g − mean(g) − x̂ · mean(g ⊙ x̂))
 * and the weight-gradient terms dy ⊙ x̂, added into row ⌊row / R⌋ of `terms` ([P, n], zeros on
 * entry; the caller sums its rows).
 */
export function normBackwardCpu(x: TypedArray, w: TypedArray, dy: TypedArray, dx: TypedArray, terms: TypedArray | null, rows: number, n: number, eps: number, centre: boolean, R = 1): void {
  for (let row = 0; row < rows; row++) {
    const base = row * n;
    const { mu, r } = rowStats(x, base, n, eps, centre);
    let sg = 0, sgx = 0;
    for (let k = 0; k < n; k++) {
      const g = w[k] * dy[base + k];
      sg += g;
      sgx += g * (x[base + k] - mu) * r;
    }
    const meanG = centre ? sg / n : 0;
    const meanGx = sgx / n;
    for (let k = 0; k < n; k++) {
      const xh = (x[base + k] - mu) * r;
      dx[base + k] = r * (w[k] * dy[base + k] - meanG - xh * meanGx);
      if (terms) terms[Math.floor(row / R) * n + k] += dy[base + k] * xh;
    }
  }
}

export function registerNormCpu(): void {
  registerKernel<RmsNormAttrs>('rmsNorm', 'cpu', (device, [x, w], { eps, offset }) => {
    checkNormInputs('rmsNorm', x, [['weight', w]]);
    const y = like(device, x);
    const { rows, n } = normLayout(x.shape);
    normForwardCpu(cpuArray(x.storage), offsetWeight(cpuArray(w.storage), offset), null, cpuArray(y.storage), rows, n, eps, false);
    return [y];
  });
  // s = x + residual, stored in x's dtype (rounded as the add kernel rounds), then RMSNorm of the
  // stored s: the composition add → rmsNorm, bit for bit.
  registerKernel<RmsNormAttrs>('addRmsNorm', 'cpu', (device, [x, res, w], { eps, offset }) => {
    checkAddNormInputs(x, res, w);
    const sum = like(device, x), y = like(device, x);
    const { rows, n } = normLayout(x.shape);
    const [xs, rs, ss] = [cpuArray(x.storage), cpuArray(res.storage), cpuArray(sum.storage)];
    for (let i = 0; i < ss.length; i++) ss[i] = xs[i] + rs[i];
    normForwardCpu(ss, offsetWeight(cpuArray(w.storage), offset), null, cpuArray(y.storage), rows, n, eps, false);
    return [sum, y];
  });
  registerKernel<NormAttrs>('layerNorm', 'cpu', (device, [x, w, b], { eps }) => {
    checkNormInputs('layerNorm', x, [['weight', w], ['bias', b]]);
    const y = like(device, x);
    const { rows, n } = normLayout(x.shape);
    normForwardCpu(cpuArray(x.storage), cpuArray(w.storage), cpuArray(b.storage), cpuArray(y.storage), rows, n, eps, true);
    return [y];
  });
  for (const [name, centre] of [['rmsNormBackward', false], ['layerNormBackward', true]] as const) {
    registerKernel<NormBackwardAttrs>(name, 'cpu', (device, [x, w, dy], { eps, weightGrad, offset = 0 }) => {
      checkNormInputs(name, x, [['weight', w]]);
      checkGradInput(name, x, dy);
      const dx = like(device, x);
      const { rows, n } = normLayout(x.shape);
      const { R, P } = normPartials(rows);
      const terms: TensorInfo | null = weightGrad ? { storage: device.alloc(x.dtype, P * n), shape: [P, n], dtype: x.dtype } : null;
      normBackwardCpu(cpuArray(x.storage), offsetWeight(cpuArray(w.storage), offset), cpuArray(dy.storage), cpuArray(dx.storage), terms && cpuArray(terms.storage), rows, n, eps, centre, R);
      return terms ? [dx, terms] : [dx];
    });
  }
}
