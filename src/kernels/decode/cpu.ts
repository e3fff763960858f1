// CPU reference for the decoding kernels (see contract.ts): plain loops, accumulated in JS numbers.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type Device } from '../../autograd/device.js';
import { ropeCpu } from '../rope/cpu.js';
import { ropePairLayout } from '../rope/contract.js';
import { type CacheWriteAttrs, type DecodeAttentionAttrs, type RotateAndCacheAttrs, cacheWriteColumns, decodeDims } from './contract.js';
import { softcapScore } from '../attention/contract.js';

/** cacheWrite of sources into caches of one shape (see contract.ts). */
function writeColumns(caches: TensorInfo[], srcs: TensorInfo[], offset: number): void {
  const n = cacheWriteColumns(caches.map((c) => c.shape), srcs.map((s) => s.shape), offset);
  const [B, Hkv, C, D] = caches[0].shape;
  for (const [i, cache] of caches.entries()) {
    const dst = cpuArray(cache.storage), s = cpuArray(srcs[i].storage);
    for (let bh = 0; bh < B * Hkv; bh++) {
      for (let t = 0; t < n; t++) for (let d = 0; d < D; d++) dst[(bh * C + offset + t) * D + d] = s[(bh * n + t) * D + d];
    }
  }
}

/** rotateAndCache as its two ops: RoPE of q and k, then k and v written into the caches. */
function rotateAndCacheCpu(device: Device, [q, k, v, kCache, vCache, positions, invFreq]: TensorInfo[], { offset, rotaryDim }: RotateAndCacheAttrs): TensorInfo[] {
  ropePairLayout(q, k, positions, invFreq, rotaryDim);
  const attrs = { rotaryDim, inverse: false };
  const [qr, kr] = [ropeCpu(device, q, positions, invFreq, attrs), ropeCpu(device, k, positions, invFreq, attrs)];
  writeColumns([kCache, vCache], [kr, v], offset);
  device.release(kr.storage);
  return [qr];
}

export function registerDecodeCpu(): void {
  registerKernel<CacheWriteAttrs>('cacheWrite', 'cpu', (_device, inputs, { offset, count }) => {
    writeColumns(inputs.slice(0, count), inputs.slice(count), offset);
    return [];
  });
  registerKernel<RotateAndCacheAttrs>('rotateAndCache', 'cpu', rotateAndCacheCpu);
  registerKernel<DecodeAttentionAttrs>('decodeAttention', 'cpu', (device, [q, k, v, visible], { scale, softcap }) => {
    const { B, H, Hkv, C, D, L } = decodeDims(q.shape, k.shape, v.shape, visible.shape);
    const o = device.alloc(q.dtype, B * H * D);
    const [qs, ks, vs, vis, out] = [q, k, v, visible].map((t) => cpuArray(t.storage)).concat([cpuArray(o)]);
    const group = H / Hkv;
    const s = new Float64Array(L);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const qb = (b * H + h) * D, kb = (b * Hkv + Math.floor(h / group)) * C * D;
        let m = -Infinity;
        for (let j = 0; j < L; j++) {
          if (!(vis[b * L + j] > 0)) { s[j] = -Infinity; continue; }
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qs[qb + d] * ks[kb + j * D + d];
          s[j] = softcapScore(dot * scale, softcap);
          m = Math.max(m, s[j]);
        }
        let total = 0;
        for (let j = 0; j < L; j++) total += s[j] = s[j] === -Infinity ? 0 : Math.exp(s[j] - m);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < L; j++) acc += s[j] * vs[kb + j * D + d];
          out[qb + d] = total > 0 ? acc / total : 0;
        }
      }
    }
    return [{ storage: o, shape: [B, H, 1, D], dtype: q.dtype }];
  });
}
