// Fused scaled-dot-product attention: shapes, masks and cost.
//
// q [B, H, T, D], k and v [B, Hkv, T, D] with Hkv dividing H. Query head h reads kv head
// floor(h / (H / Hkv)) (grouped-query attention; Hugging Face's repeat_kv puts the copies of a kv
// head next to each other, so this is the same pairing). The result is [B, H, T, D]:
//
//   O[b,h,i] = Σ_j P_ij v[b,hk,j],  P_ij = exp(S_ij − LSE_i) over the keys j visible to query i,
//   S_ij = scale · q[b,h,i] · k[b,hk,j],  LSE_i = log Σ_{visible j} exp(S_ij),  scale = 1/√D;
//   with a softcap c > 0 (Gemma-2's attn_logit_softcapping), S_ij = c · tanh(scale · q·k / c).
//
// Key j is visible to query i (in batch entry b, with valid length L = keyPadding[b]) iff
//   j < L                          right padding: keys at padded positions are never attended to
//   and j ≤ i                      when causal (the default)
//   and i − window < j             when a sliding window is given (Mistral; needs causal)
// L is clamped to [0, T]. Queries at padded positions (i ≥ L) are computed like any other query:
// they attend to the valid keys their causal/window mask allows, so their outputs are finite but
// meaningless (Hugging Face's SDPA path does the same); mask them out of the loss. A query that
// sees no key at all (L = 0, or a window that leaves it nothing) outputs zeros, with LSE = −Inf
// and zero gradients; attentionUnfused agrees.
import { type DType, bytesPerElement } from '../../autograd/dtype.js';
import type { Shape } from '../../autograd/shape.js';
import type { KernelCost } from '../cost.js';

export interface AttentionOptions {
  /** Queries see only keys at or before their position (default true). */
  causal?: boolean;
  /** int32 [B]: valid length of each batch entry (right padding); keys at j ≥ length are masked. */
  keyPadding?: { shape: Shape; dtype: DType };
  /** Sliding window (Mistral): query i sees keys j with i − window < j ≤ i. Needs causal. */
  window?: number;
  /** Multiplies q·k (default 1/√D). */
  scale?: number;
  /** Logit soft-capping (Gemma-2): scores become softcap · tanh(scores / softcap) after the scale, before the mask. 0 or absent: none. */
  softcap?: number;
}

/** Attributes of the 'attention' and 'attentionBackward' kernels. */
export interface AttentionAttrs {
  causal: boolean;
  /** 0: no window. */
  window: number;
  scale: number;
  /** 0: no soft-capping. */
  softcap: number;
  /** Whether the last input is the int32 [B] keyPadding tensor. */
  hasPadding: boolean;
  /**
   * WebGPU tile preset (see ATTENTION_VERSIONS in webgpu.ts); by default each of the three kernels
   * takes the largest preset whose workgroup memory fits the adapter. The CPU reference ignores it.
   */
  version?: number;
  /**
   * WebGPU, grouped-query only: compute dK/dV per query head and sum each group afterwards (true),
   * or per kv head summing in registers (false). By default chosen by grid size (splitGroups in
   * webgpu.ts). The CPU reference ignores it.
   */
  splitGroups?: boolean;
  /**
   * WebGPU: stage head_dim in chunks of this many columns (a multiple of 32; 64 with the
   * 256-thread tiles) instead of whole rows. By default whole rows when a tile fits the adapter's
   * workgroup memory, chunks when none does (head_dim 256). The CPU reference ignores it.
   */
  headChunk?: number;
}

export interface AttentionDims {
  B: number;
  H: number;
  Hkv: number;
  T: number;
  D: number;
}

/** Checks q, k, v (and keyPadding) against each other; returns the dimensions. Throws naming what is wrong. */
export function attentionDims(
  q: { shape: Shape; dtype: DType },
  k: { shape: Shape; dtype: DType },
  v: { shape: Shape; dtype: DType },
  keyPadding?: { shape: Shape; dtype: DType },
): AttentionDims {
  const fail = (msg: string): never => {
    throw new Error(`attention: ${msg}`);
  };
  if (q.shape.length !== 4) fail(`q must be [B, H, T, D], got [${q.shape}]`);
  if (k.shape.length !== 4) fail(`k must be [B, Hkv, T, D], got [${k.shape}]`);
  if (v.shape.length !== 4) fail(`v must be [B, Hkv, T, D], got [${v.shape}]`);
  const [B, H, T, D] = q.shape;
  const Hkv = k.shape[1];
  if (k.shape[0] !== B || k.shape[2] !== T || k.shape[3] !== D) fail(`k [${k.shape}] does not match q [${q.shape}] in B, T or D`);
  if (D === 0) fail(`head_dim (the last dimension of q) is 0`);
  if (v.shape.join() !== k.shape.join()) fail(`v [${v.shape}] must have k's shape [${k.shape}]`);
  if (Hkv === 0 ? H !== 0 : H % Hkv !== 0) fail(`the ${Hkv} kv heads of k must divide the ${H} query heads of q`);
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) fail(`q, k, v must share a dtype (got ${q.dtype}, ${k.dtype}, ${v.dtype})`);
  if (q.dtype === 'int32') fail('q, k, v must be float tensors, got int32');
  if (keyPadding) {
    if (keyPadding.dtype !== 'int32') fail(`keyPadding must be int32 lengths, got ${keyPadding.dtype}`);
    if (keyPadding.shape.length !== 1 || keyPadding.shape[0] !== B) fail(`keyPadding must be [B] = [${B}], got [${keyPadding.shape}]`);
  }
  return { B, H, Hkv, T, D };
}

/** Resolves the options into kernel attributes (validating them). */
export function attentionAttrs(D: number, opts: AttentionOptions): AttentionAttrs {
  const causal = opts.causal ?? true;
  const window = opts.window ?? 0;
  if (opts.window !== undefined) {
    if (!Number.isInteger(window) || window < 1) throw new Error(`attention: window must be an integer ≥ 1, got ${opts.window}`);
    if (!causal) throw new Error('attention: a sliding window needs causal attention (Mistral: i − window < j ≤ i)');
  }
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  if (!Number.isFinite(scale)) throw new Error(`attention: scale must be finite, got ${scale}`);
  return { causal, window, scale, softcap: checkSoftcap('attention', opts.softcap), hasPadding: !!opts.keyPadding };
}

/** A softcap option as kernels read it: 0 for none; else finite and positive. */
export function checkSoftcap(op: string, softcap: number | undefined): number {
  const c = softcap ?? 0;
  if (!Number.isFinite(c) || c < 0) throw new Error(`${op}: softcap must be a finite number ≥ 0 (0: none), got ${softcap}`);
  return c;
}

/** A scaled score soft-capped: c · tanh(s / c), or s itself when c is 0 (float64, the references). */
export function softcapScore(s: number, c: number): number {
  return c > 0 ? c * Math.tanh(s / c) : s;
}

/** Whether query i sees key j; L is the batch entry's valid length, already clamped to [0, T]. */
export function keyVisible(i: number, j: number, L: number, causal: boolean, window: number): boolean {
  return j < L && (!causal || j <= i) && (window === 0 || j > i - window);
}

/** A keyPadding length clamped to [0, T], as every kernel reads it. */
export function clampLength(len: number, T: number): number {
  return Math.min(Math.max(len, 0), T);
}

/** Number of (query, key) pairs that are visible in one head of one batch entry of length L. */
export function visiblePairs(T: number, L: number, causal: boolean, window: number): number {
  let n = 0;
  for (let i = 0; i < T; i++) {
    let hi = L; // keys j < hi
    if (causal) hi = Math.min(hi, i + 1);
    const lo = window > 0 ? Math.max(0, i - window + 1) : 0;
    n += Math.max(0, hi - lo);
  }
  return n;
}

export interface AttentionCost {
  forward: KernelCost;
  /** Everything the backward does: Di = rowsum(dO ⊙ O), dQ, dK and dV. */
  backward: KernelCost;
}

/**
 * FLOPs and compulsory bytes of the fused attention, counting only visible (query, key) pairs
 * (the kernels skip key tiles that a mask hides entirely, so causal attention costs about half).
 * Per visible pair, D-long dot products and axpys:
 *   forward   S = q·k, O += p·v: 4D, plus scale, max, subtract, exp, sum: 5
 *   backward  S and dP = dO·v recomputed, dV += p·dO, dK += dS·q, dQ += dS·k: 10D, plus scale,
 *             subtract LSE, exp, subtract Di, multiply: 5; and Di = dO·O: 2D per query row.
 * Bytes: forward reads q, k, v once and writes O and LSE; backward reads q, k, v, O, dO, LSE and
 * writes dQ, dK, dV (and the [B, H, T] Di it makes and reads back).
 * `lengths` are the keyPadding lengths (default: all T).
 */
export function attentionCost(dims: AttentionDims, opts: { causal?: boolean; window?: number; lengths?: number[]; dtype?: DType } = {}): AttentionCost {
  const { B, H, Hkv, T, D } = dims;
  const causal = opts.causal ?? true, window = opts.window ?? 0;
  const el = bytesPerElement(opts.dtype ?? 'float32');
  let pairs = 0;
  for (let b = 0; b < B; b++) pairs += visiblePairs(T, clampLength(opts.lengths?.[b] ?? T, T), causal, window);
  pairs *= H;
  const qSize = B * H * T * D, kvSize = B * Hkv * T * D, rows = B * H * T;
  return {
    forward: { flops: pairs * (4 * D + 5), bytes: el * (qSize + 2 * kvSize + qSize + rows) + (opts.lengths ? 4 * B : 0) },
    backward: {
      flops: pairs * (10 * D + 5) + rows * 2 * D,
      bytes: el * (3 * qSize + 2 * kvSize + rows + 2 * rows + qSize + 2 * kvSize) + (opts.lengths ? 4 * B : 0),
    },
  };
}
