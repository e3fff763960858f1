// RoPE, Hugging Face's rotate-half convention (LlamaRotaryEmbedding + apply_rotary_pos_emb):
//
//   θ_i(p) = p · inv_freq[i],  i < R/2 (R = rotaryDim, h = R/2)
//   y[j]     = x[j] · cos θ_j − x[j + h] · sin θ_j        j < h
//   y[j + h] = x[j + h] · cos θ_j + x[j] · sin θ_j
//   y[j]     = x[j]                                       R ≤ j < D (partial rotary: pass through)
//
// i.e. y = x ⊙ cos + rotate_half(x) ⊙ sin with rotate_half(x) = cat(−x₂, x₁) and
// cos = cat(cos θ, cos θ). x is [B, H, T, D]; positions are int32, [B, T] (one row per sequence,
// e.g. left padding) or [T] (shared); inv_freq is [R/2] (ropeFrequencies). The inverse rotation
// (θ → −θ) is the same kernel with the sign of sin flipped: it is the gradient, since a rotation's
// transpose is its inverse.
//
// Precision: as transformers, the angle is the float32 product f32(p) · f32(inv_freq) (HF computes
// `inv_freq @ position_ids` in float32 with autocast off), so at large positions it carries the
// float32 rounding of p · inv_freq: |θ|·2⁻²⁴, e.g. 0.008 rad at p = 131072 for inv_freq = 1. We
// reproduce HF's angle, not the exact one. cos and sin of that f32 angle are computed to ~1e-7
// absolute by our own range reduction (WGSL's builtins guarantee nothing outside [−π, π]) for
// |θ| < 2¹⁷·π/2 ≈ 2·10⁵ rad; the CPU reference rounds the angle the same way, then uses float64.
import { type DType, bytesPerElement, isFloat } from '../../autograd/dtype.js';
import { type Shape, sizeOf } from '../../autograd/shape.js';
import type { KernelCost } from '../cost.js';

export interface RopeAttrs {
  rotaryDim: number;
  /** Rotate by −θ (the gradient). */
  inverse: boolean;
}

export interface RopeLayout {
  batch: number;
  heads: number;
  seq: number;
  headDim: number;
  half: number;
  /** positions is [B, T] (else [T], shared by the batch). */
  perBatch: boolean;
}

type Info = { shape: Shape; dtype: DType };

/** Checks x [B,H,T,D], positions int32 [B,T] or [T], invFreq [R/2], R even in [2, D]. */
export function ropeLayout(x: Info, positions: Info, invFreq: Info, rotaryDim: number): RopeLayout {
  if (!isFloat(x.dtype)) throw new Error(`applyRope() needs a float tensor, got ${x.dtype}`);
  if (x.shape.length !== 4) throw new Error(`applyRope(): x must be [batch, heads, seq, head_dim], got [${x.shape}]`);
  const [batch, heads, seq, headDim] = x.shape;
  if (!Number.isInteger(rotaryDim) || rotaryDim < 2 || rotaryDim % 2 !== 0 || rotaryDim > headDim) {
    throw new Error(`applyRope(): rotaryDim must be even, ≥ 2 and ≤ head_dim ${headDim}, got ${rotaryDim}`);
  }
  if (positions.dtype !== 'int32') throw new Error(`applyRope(): positions must be int32, got ${positions.dtype}`);
  const p = positions.shape;
  const perBatch = p.length === 2;
  if (!((p.length === 1 && p[0] === seq) || (perBatch && p[0] === batch && p[1] === seq))) {
    throw new Error(`applyRope(): positions must be [${batch}, ${seq}] or [${seq}] for x [${x.shape}], got [${p}]`);
  }
  if (!isFloat(invFreq.dtype)) throw new Error(`applyRope(): invFreq must be float, got ${invFreq.dtype}`);
  if (invFreq.shape.length !== 1 || invFreq.shape[0] !== rotaryDim / 2) {
    throw new Error(`applyRope(): invFreq must be [rotaryDim / 2] = [${rotaryDim / 2}], got [${invFreq.shape}]`);
  }
  return { batch, heads, seq, headDim, half: rotaryDim / 2, perBatch };
}

/** applyRopePair's q and k: each as applyRope's x, of one batch, sequence, head_dim and dtype. */
export function ropePairLayout(q: Info, k: Info, positions: Info, invFreq: Info, rotaryDim: number): [RopeLayout, RopeLayout] {
  const lq = ropeLayout(q, positions, invFreq, rotaryDim), lk = ropeLayout(k, positions, invFreq, rotaryDim);
  if (lq.batch !== lk.batch || lq.seq !== lk.seq || lq.headDim !== lk.headDim || q.dtype !== k.dtype) {
    throw new Error(`applyRopePair(): q and k must share batch, sequence, head_dim and dtype (only heads may differ), got ${q.dtype} [${q.shape}] and ${k.dtype} [${k.shape}]`);
  }
  return [lq, lk];
}

/**
 * Per rotated pair: the angle (1), sin and cos (2, counted as one each like exp), 4 multiplies and
 * 2 adds = 9 FLOPs. Bytes: x read and y written, positions and invFreq read once.
 */
export function ropeCost(shape: Shape, rotaryDim: number, dtype: DType, positionsPerBatch = true): KernelCost {
  const size = sizeOf(shape);
  const [batch, , seq, headDim] = shape;
  const pairs = headDim === 0 ? 0 : (size / headDim) * (rotaryDim / 2);
  return { flops: 9 * pairs, bytes: 2 * size * bytesPerElement(dtype) + 4 * (positionsPerBatch ? batch * seq : seq) + 4 * (rotaryDim / 2) };
}
