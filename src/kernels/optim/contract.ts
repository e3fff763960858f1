// Fused optimizer updates: one kernel per parameter and step, reading the gradient and updating
// the parameter and its state in place (PyTorch's torch.optim semantics, single-tensor form).
//
//   adamw   inputs [p, g, m, v]                 (torch.optim.AdamW, amsgrad=False)
//     g ← g·gradScale                           (both: clip_grad_norm_'s scaling, fused; 1 by default)
//     p ← p − lr·wd·p
//     m ← β1·m + (1 − β1)·g
//     v ← β2·v + (1 − β2)·g²
//     p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
//   rmsprop inputs [p, g, s[, ḡ][, b]]          (torch.optim.RMSprop; ḡ if centered, b if momentum > 0)
//     g ← g + wd·p                              (when wd ≠ 0)
//     s ← α·s + (1 − α)·g²
//     a ← √(s − ḡ²) + ε with ḡ ← α·ḡ + (1 − α)·g when centered, else √s + ε
//     b ← μ·b + g / a;  p ← p − lr·b            (momentum μ > 0)
//     p ← p − lr·g / a                          (otherwise)
//
// The kernels have no outputs: they write their input storages (every tensor but g). On WebGPU each
// buffer is bound once (g read-only, the others read_write), so the gradient must not share memory
// with the parameter or a state tensor. The per-step scalars (bias corrections) are worked out on
// the host in float64, once, and shared by both devices (adamwScalars).
import type { DType } from '../../autograd/dtype.js';
import { bytesPerElement, isFloat } from '../../autograd/dtype.js';
import type { TensorInfo } from '../../autograd/kernel.js';
import { sameShape, sizeOf } from '../../autograd/shape.js';
import type { KernelCost } from '../cost.js';

export interface AdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** This parameter's step count, 1 on its first update. */
  step: number;
  /** The gradient is read as g·gradScale (gradient clipping folded into the update; default 1). */
  gradScale?: number;
}

export interface RMSpropAttrs {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  /** The gradient is read as g·gradScale (default 1). */
  gradScale?: number;
}

/** The float32-friendly constants of one AdamW step (what both kernels use). */
export function adamwScalars(a: AdamWAttrs) {
  return {
    decay: 1 - a.lr * a.weightDecay,
    beta1: a.beta1,
    beta2: a.beta2,
    stepSize: a.lr / (1 - a.beta1 ** a.step),
    bc2Sqrt: Math.sqrt(1 - a.beta2 ** a.step),
    eps: a.eps,
    gradScale: a.gradScale ?? 1,
  };
}

/** Checks that every tensor matches the parameter and that the gradient has its own memory. */
export function checkUpdate(op: string, names: string[], inputs: TensorInfo[]): number {
  if (inputs.length !== names.length) throw new Error(`${op}: expected ${names.length} tensors (${names.join(', ')}), got ${inputs.length}`);
  const p = inputs[0];
  if (!isFloat(p.dtype)) throw new Error(`${op}: the parameter must be a float tensor, got ${p.dtype}`);
  inputs.forEach((t, i) => {
    if (t.dtype !== p.dtype || !sameShape(t.shape, p.shape)) {
      throw new Error(`${op}: ${names[i]} is ${t.dtype} [${t.shape}] but the parameter is ${p.dtype} [${p.shape}]`);
    }
  });
  const g = inputs[1].storage;
  inputs.forEach((t, i) => {
    if (i !== 1 && t.storage === g) throw new Error(`${op}: the gradient shares memory with ${names[i]}; clone it first`);
  });
  return sizeOf(p.shape);
}

/** The tensors of an RMSprop update, in kernel order. */
export function rmspropNames(a: Pick<RMSpropAttrs, 'centered' | 'momentum'>): string[] {
  return ['param', 'grad', 'square_avg', ...(a.centered ? ['grad_avg'] : []), ...(a.momentum > 0 ? ['momentum_buffer'] : [])];
}

/**
 * AdamW, per element: decay 1, m 3, v 4, √v/√bc2 + ε 3, the update 3 = 14 FLOPs; reads p, g, m,
 * v and writes p, m, v.
 */
export function adamwCost(size: number, dtype: DType = 'float32'): KernelCost {
  return { flops: 14 * size, bytes: 7 * size * bytesPerElement(dtype) };
}

/**
 * RMSprop, per element: weight decay 2, s 4, √ + ε 2, update 3; centered +5 (ḡ 3, ḡ² and the
 * subtraction), momentum +2. Reads p, g and each state, writes p and each state.
 */
export function rmspropCost(size: number, dtype: DType = 'float32', opts: { centered?: boolean; momentum?: number; weightDecay?: number } = {}): KernelCost {
  const states = 1 + (opts.centered ? 1 : 0) + ((opts.momentum ?? 0) > 0 ? 1 : 0);
  const flops = 9 + (opts.weightDecay ? 2 : 0) + (opts.centered ? 5 : 0) + ((opts.momentum ?? 0) > 0 ? 2 : 0);
  return { flops: flops * size, bytes: (2 + states + 1 + states) * size * bytesPerElement(dtype) };
}
