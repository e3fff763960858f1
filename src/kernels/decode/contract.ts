// Kernels of a decoding step over a key/value cache (generation): the cache is preallocated to a
// capacity of C columns and written in place, one column per step, and each row's single new query
// attends over the cached columns without copying them.
//
// cacheWrite (in place): cache [B, Hkv, C, D] ← src [B, Hkv, n, D] at columns [offset, offset + n);
// several caches of one shape at once (a layer's keys and values: one launch).
// decodeAttention: q [B, H, 1, D] (one query per row and head), k, v [B, Hkv, C, D] (the cache),
// visible [B, L] (0/1 as floats, L ≤ C: which of the first L columns row b's query sees; columns at
// or past L are never read). Output [B, H, 1, D]: softmax(scale · q·kⱼᵀ over the visible j) · vⱼ
// (with a softcap c > 0, Gemma-2's, each score becomes c · tanh(score / c) before the softmax),
// query head h reading kv head ⌊h / (H / Hkv)⌋ (grouped-query). A row that sees no column outputs
// zeros. No gradient: generation only (training uses the fused attention).
// rotateAndCache: a decoding step's RoPE and cache write in one launch: q [B, H, n, D] rotated into
// a new tensor (applyRope), k [B, Hkv, n, D] rotated into the key cache's columns [offset, offset + n)
// and v copied into the value cache's (cacheWrite), the same values bit for bit as those ops.
import type { Shape } from '../../autograd/shape.js';
import type { KernelCost } from '../cost.js';

export interface CacheWriteAttrs {
  offset: number;
  /** Caches written (inputs: the caches, then their sources, in the same order). */
  count: number;
}

export interface RotateAndCacheAttrs {
  /** First cache column written. */
  offset: number;
  rotaryDim: number;
}

export interface DecodeAttentionAttrs {
  scale: number;
  /** 0: no soft-capping. */
  softcap: number;
  /** WebGPU kernel version (DECODE_ATTENTION_VERSIONS; default 0). The CPU reference ignores it. */
  version?: number;
}

/** decodeAttention's options (a bare number is the scale, as before). */
export interface DecodeAttentionOptions {
  /** Multiplies q·k (default 1/√D; Gemma-2: query_pre_attn_scalar^-0.5). */
  scale?: number;
  /** Logit soft-capping after the scale (Gemma-2's attn_logit_softcapping); 0 or absent: none. */
  softcap?: number;
  /** WebGPU kernel version (DECODE_ATTENTION_VERSIONS). */
  version?: number;
}

export interface DecodeDims {
  B: number;
  H: number;
  Hkv: number;
  C: number;
  D: number;
  L: number;
}

function fail(what: string, shapes: Shape[]): never {
  throw new Error(`decodeAttention: ${what} (q [${shapes[0]}], k [${shapes[1]}], v [${shapes[2]}], visible [${shapes[3]}])`);
}

/** The dimensions, or an error naming every shape. */
export function decodeDims(q: Shape, k: Shape, v: Shape, visible: Shape): DecodeDims {
  const all = [q, k, v, visible];
  if (q.length !== 4 || k.length !== 4 || v.length !== 4 || visible.length !== 2) fail('q, k, v must be 4-D and visible 2-D', all);
  const [B, H, one, D] = q;
  const [, Hkv, C] = k;
  if (one !== 1) fail('one query per row (q [B, H, 1, D])', all);
  if (k.some((x, i) => x !== v[i])) fail('k and v must have the same shape', all);
  if (k[0] !== B || k[3] !== D) fail('k must be [B, Hkv, C, D] with q\'s B and D', all);
  if (Hkv === 0 || H % Hkv !== 0) fail(`kv heads (${Hkv}) must divide query heads (${H})`, all);
  const L = visible[1];
  if (visible[0] !== B || L > C) fail('visible must be [B, L] with L at most the cache\'s columns', all);
  return { B, H, Hkv, C, D, L };
}

/** Checks a cache write (every pair the first's shapes) and gives the sources' column count n. */
export function cacheWriteColumns(caches: Shape[], srcs: Shape[], offset: number): number {
  const [cache, src] = [caches[0], srcs[0]];
  const n = src[2];
  for (const [i, c] of caches.entries()) {
    const s = srcs[i];
    if (c.length !== 4 || s.length !== 4 || c[0] !== s[0] || c[1] !== s[1] || c[3] !== s[3] || !Number.isInteger(offset) || offset < 0 || offset + s[2] > c[2]) {
      throw new Error(`cacheWrite: src [${s}] does not fit cache [${c}] at column ${offset}`);
    }
    if (c.some((x, j) => x !== cache[j]) || s.some((x, j) => x !== src[j])) throw new Error(`cacheWrite: caches written together must have one shape ([${cache}] and [${c}]; sources [${src}] and [${s}])`);
  }
  return n;
}

/** Compulsory traffic of decodeAttention: q, the L visible-range columns of k and v, visible, o. */
export function decodeAttentionCost(d: DecodeDims): KernelCost {
  return {
    flops: 4 * d.B * d.H * d.L * d.D,
    bytes: 4 * (2 * d.B * d.H * d.D + 2 * d.B * d.Hkv * d.L * d.D + d.B * d.L),
  };
}
