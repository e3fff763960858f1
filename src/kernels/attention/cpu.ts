// CPU reference for fused attention, in float64 (JS numbers) whatever the dtype: the oracle the WGSL
// kernels are checked against. It materialises one row of scores at a time (O(T) extra memory);
// simple, not fast.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Device } from '../../autograd/device.js';
import type { TypedArray } from '../../autograd/dtype.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type AttentionAttrs, type AttentionDims, attentionDims, clampLength, keyVisible, softcapScore } from './contract.js';

function alloc(device: Device, like: TensorInfo, shape: number[]): TensorInfo {
  return { storage: device.alloc(like.dtype, shape.reduce((a, b) => a * b, 1)), shape, dtype: like.dtype };
}

/** Valid length of each batch entry (all T without keyPadding). */
function lengths(dims: AttentionDims, padding: TensorInfo | undefined): number[] {
  const lens = padding ? cpuArray(padding.storage) : null;
  return Array.from({ length: dims.B }, (_, b) => clampLength(lens ? lens[b] : dims.T, dims.T));
}

/** Offsets of row i of head h (query side) and of the kv head it reads. */
function rowBases(d: AttentionDims, b: number, h: number) {
  const hk = Math.floor(h / (d.H / d.Hkv));
  return { q: ((b * d.H + h) * d.T) * d.D, kv: ((b * d.Hkv + hk) * d.T) * d.D, row: (b * d.H + h) * d.T };
}

/**
 * O_i = Σ_j softmax_j(S_i) v_j and LSE_i = log Σ_j exp(S_ij) over the visible keys, with
 * S_ij = scale · q_i · k_j (soft-capped: c · tanh(S_ij / c)); a query that sees no key gets O_i = 0
 * and LSE_i = −Inf.
 */
export function attentionForwardCpu(d: AttentionDims, lens: number[], attrs: AttentionAttrs, q: TypedArray, k: TypedArray, v: TypedArray, o: TypedArray, lse: TypedArray): void {
  const { T, D } = d;
  const s = new Float64Array(T);
  const acc = new Float64Array(D);
  for (let b = 0; b < d.B; b++) {
    for (let h = 0; h < d.H; h++) {
      const base = rowBases(d, b, h);
      for (let i = 0; i < T; i++) {
        const qi = base.q + i * D;
        let m = -Infinity;
        for (let j = 0; j < T; j++) {
          if (!keyVisible(i, j, lens[b], attrs.causal, attrs.window)) continue;
          let dot = 0;
          for (let c = 0; c < D; c++) dot += q[qi + c] * k[base.kv + j * D + c];
          s[j] = softcapScore(dot * attrs.scale, attrs.softcap);
          if (s[j] > m) m = s[j];
        }
        acc.fill(0);
        let sum = 0;
        for (let j = 0; j < T; j++) {
          if (!keyVisible(i, j, lens[b], attrs.causal, attrs.window)) continue;
          const p = Math.exp(s[j] - m);
          sum += p;
          for (let c = 0; c < D; c++) acc[c] += p * v[base.kv + j * D + c];
        }
        for (let c = 0; c < D; c++) o[qi + c] = sum > 0 ? acc[c] / sum : 0;
        lse[base.row + i] = sum > 0 ? m + Math.log(sum) : -Infinity;
      }
    }
  }
}

/**
 * Gradients of attention from the saved O and LSE, as the flash backward computes them:
 *   Di = dO_i · O_i,  P_ij = exp(S_ij − LSE_i),  dP_ij = dO_i · v_j,  dS_ij = P_ij (dP_ij − Di)
 *   dQ_i = scale Σ_j dS_ij k_j,  dK_j = scale Σ_i dS_ij q_i,  dV_j = Σ_i P_ij dO_i
 * (dK and dV summed over the query heads that share a kv head). Soft-capped, S_ij = c · t_ij with
 * t_ij = tanh(scale · q_i·k_j / c), and dS_ij carries the cap's derivative 1 − t_ij².
 */
export function attentionBackwardCpu(
  d: AttentionDims, lens: number[], attrs: AttentionAttrs,
  q: TypedArray, k: TypedArray, v: TypedArray, o: TypedArray, dO: TypedArray, lse: TypedArray,
  dq: TypedArray, dk: TypedArray, dv: TypedArray,
): void {
  const { T, D } = d;
  const gq = new Float64Array(dq.length), gk = new Float64Array(dk.length), gv = new Float64Array(dv.length);
  for (let b = 0; b < d.B; b++) {
    for (let h = 0; h < d.H; h++) {
      const base = rowBases(d, b, h);
      for (let i = 0; i < T; i++) {
        const qi = base.q + i * D;
        const l = lse[base.row + i];
        let di = 0;
        for (let c = 0; c < D; c++) di += dO[qi + c] * o[qi + c];
        for (let j = 0; j < T; j++) {
          if (!keyVisible(i, j, lens[b], attrs.causal, attrs.window)) continue;
          const kj = base.kv + j * D;
          let dot = 0, dp = 0;
          for (let c = 0; c < D; c++) {
            dot += q[qi + c] * k[kj + c];
            dp += dO[qi + c] * v[kj + c];
          }
          const c = attrs.softcap;
          const t = c > 0 ? Math.tanh((dot * attrs.scale) / c) : 0;
          const p = Math.exp((c > 0 ? c * t : dot * attrs.scale) - l);
          const ds = p * (dp - di) * (c > 0 ? 1 - t * t : 1) * attrs.scale;
          for (let c = 0; c < D; c++) {
            gq[qi + c] += ds * k[kj + c];
            gk[kj + c] += ds * q[qi + c];
            gv[kj + c] += p * dO[qi + c];
          }
        }
      }
    }
  }
  dq.set(gq);
  dk.set(gk);
  dv.set(gv);
}

export function registerAttentionCpu(): void {
  registerKernel<AttentionAttrs>('attention', 'cpu', (device, inputs, attrs) => {
    const [q, k, v] = inputs;
    const dims = attentionDims(q, k, v, attrs.hasPadding ? inputs[3] : undefined);
    const o = alloc(device, q, [...q.shape]);
    const lse = alloc(device, q, [dims.B, dims.H, dims.T]);
    const lens = lengths(dims, attrs.hasPadding ? inputs[3] : undefined);
    attentionForwardCpu(dims, lens, attrs, cpuArray(q.storage), cpuArray(k.storage), cpuArray(v.storage), cpuArray(o.storage), cpuArray(lse.storage));
    return [o, lse];
  });
  // Inputs: q, k, v, O, dO, LSE (and keyPadding); outputs dQ, dK, dV.
  registerKernel<AttentionAttrs>('attentionBackward', 'cpu', (device, inputs, attrs) => {
    const [q, k, v, o, dO, lse] = inputs;
    const dims = attentionDims(q, k, v, attrs.hasPadding ? inputs[6] : undefined);
    const lens = lengths(dims, attrs.hasPadding ? inputs[6] : undefined);
    const dq = alloc(device, q, [...q.shape]), dk = alloc(device, k, [...k.shape]), dv = alloc(device, v, [...v.shape]);
    attentionBackwardCpu(dims, lens, attrs, cpuArray(q.storage), cpuArray(k.storage), cpuArray(v.storage), cpuArray(o.storage),
      cpuArray(dO.storage), cpuArray(lse.storage), cpuArray(dq.storage), cpuArray(dk.storage), cpuArray(dv.storage));
    return [dq, dk, dv];
  });
}
