// The decoding kernels as functions (see contract.ts), and decodeAttention's composition of
// existing ops (the oracle in tests, the baseline in the bench: what the model ran before).
import type { Tensor } from '../../autograd/tensor.js';
import { runOp, runOpMulti } from '../../autograd/op.js';
import { isGradEnabled } from '../../autograd/scope.js';
import { tensor } from '../../autograd/create.js';
import { mul, tanh, where } from '../elementwise/op.js';
import { narrow, reshape } from '../copy/op.js';
import { matmul } from '../matmul/op.js';
import { softmax } from '../softmax/op.js';
import { indexSelect } from '../gather/op.js';
import { ropePairLayout } from '../rope/contract.js';
import { checkSoftcap } from '../attention/contract.js';
import { type CacheWriteAttrs, type DecodeAttentionAttrs, type DecodeAttentionOptions, type RotateAndCacheAttrs, cacheWriteColumns, decodeDims } from './contract.js';

/**
 * Writes src [B, Hkv, n, D] into columns [offset, offset + n) of cache [B, Hkv, C, D], in place;
 * given lists (a layer's key and value caches and columns, of one shape), all in one launch.
 */
export function cacheWrite(cache: Tensor | Tensor[], src: Tensor | Tensor[], offset: number): void {
  const caches = Array.isArray(cache) ? cache : [cache], srcs = Array.isArray(src) ? src : [src];
  if (caches.length !== srcs.length || caches.length === 0) throw new Error(`cacheWrite: ${caches.length} caches for ${srcs.length} sources`);
  if (caches.some((c) => c.requiresGrad)) throw new Error('cacheWrite: the cache is written in place and cannot take a gradient');
  runOpMulti<CacheWriteAttrs>('cacheWrite', [...caches, ...srcs], { offset, count: caches.length });
}

/**
 * A decoding step's RoPE and cache write in one launch: q [B, H, n, D] rotated (applyRope) into a
 * new tensor, returned; k [B, Hkv, n, D] rotated and written into kCache [B, Hkv, C, D] at columns
 * [offset, offset + n), v into vCache, in place (cacheWrite). Bit for bit applyRopePair then
 * cacheWrite. Generation only: no gradient.
 */
export function rotateAndCache(q: Tensor, k: Tensor, v: Tensor, kCache: Tensor, vCache: Tensor, offset: number, positions: Tensor, invFreq: Tensor, rotaryDim = 2 * invFreq.size): Tensor {
  ropePairLayout(q, k, positions, invFreq, rotaryDim);
  cacheWriteColumns([kCache.shape, vCache.shape], [k.shape, v.shape], offset);
  if (kCache.requiresGrad || vCache.requiresGrad) throw new Error('rotateAndCache: the cache is written in place and cannot take a gradient');
  if (isGradEnabled() && [q, k, v].some((t) => t.requiresGrad)) throw new Error('rotateAndCache has no gradient (generation only); call it under noGrad');
  return runOp<RotateAndCacheAttrs>('rotateAndCache', [q, k, v, kCache, vCache, positions, invFreq], { offset, rotaryDim });
}

/** The options, given as an object or (as before) a bare scale with the version after it. */
function decodeOptions(opts: number | DecodeAttentionOptions | undefined, version: number | undefined): DecodeAttentionOptions {
  const o = typeof opts === 'object' ? opts : { scale: opts };
  return version === undefined ? o : { ...o, version };
}

/**
 * One query per row and head against a key/value cache read in place: q [B, H, 1, D]; k, v
 * [B, Hkv, C, D]; visible [B, L] (0/1, L ≤ C) says which of the first L columns each row sees.
 * Options: scale (default 1/√D), softcap (Gemma-2's logit soft-capping; 0 or absent: none), version
 * (a WebGPU kernel, DECODE_ATTENTION_VERSIONS); a bare number is the scale. Generation only: it has
 * no gradient.
 */
export function decodeAttention(q: Tensor, k: Tensor, v: Tensor, visible: Tensor, options?: number | DecodeAttentionOptions, version?: number): Tensor {
  decodeDims(q.shape, k.shape, v.shape, visible.shape);
  if (isGradEnabled() && [q, k, v].some((t) => t.requiresGrad)) {
    throw new Error('decodeAttention has no gradient (generation only); train with attention(), or call it under noGrad');
  }
  const o = decodeOptions(options, version);
  const scale = o.scale ?? 1 / Math.sqrt(q.shape[3]);
  if (!Number.isFinite(scale)) throw new Error(`decodeAttention: scale must be finite, got ${scale}`);
  return runOp<DecodeAttentionAttrs>('decodeAttention', [q, k, v, visible], {
    scale, softcap: checkSoftcap('decodeAttention', o.softcap), ...(o.version === undefined ? {} : { version: o.version }),
  });
}

/**
 * The same as a composition: the first L columns copied out (narrow), kv heads repeated for GQA
 * (indexSelect), scores = scale · q·kᵀ (soft-capped with tanh), where(visible, scores, −Inf),
 * softmax, ·v. A row that sees no column gives NaN here (softmax of all −Inf), zeros in the kernel.
 */
export function decodeAttentionUnfused(q: Tensor, k: Tensor, v: Tensor, visible: Tensor, options?: number | DecodeAttentionOptions): Tensor {
  const { scale, softcap } = decodeOptions(options, undefined);
  const cap = checkSoftcap('decodeAttentionUnfused', softcap);
  const { B, H, Hkv, C, L, D } = decodeDims(q.shape, k.shape, v.shape, visible.shape);
  if (L < C) {
    k = narrow(k, 2, 0, L);
    v = narrow(v, 2, 0, L);
  }
  if (H !== Hkv) {
    const group = H / Hkv;
    const ids = tensor(Int32Array.from({ length: H }, (_, h) => Math.floor(h / group)), [H], { device: q.device, dtype: 'int32' });
    k = indexSelect(k, 1, ids);
    v = indexSelect(v, 1, ids);
  }
  let scores = mul(matmul(q, k, { transposeB: true }), scale ?? 1 / Math.sqrt(D));
  if (cap > 0) scores = mul(tanh(mul(scores, 1 / cap)), cap);
  return matmul(softmax(where(reshape(visible, [B, 1, 1, L]), scores, -Infinity), -1), v);
}
