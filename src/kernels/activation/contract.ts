// The activation family, elementwise:
//
//   swiglu(gate, up) = silu(gate) ⊙ up,  silu(g) = g·σ(g)        (LLaMA's MLP: down(silu(gate(x)) ⊙ up(x)))
//   gelu(x)          = x·Φ(x) = ½·x·(1 + erf(x/√2))               (BERT's "gelu", the erf form)
//   geluTanh(x)      = ½·x·(1 + tanh(u)),  u = √(2/π)·(x + 0.044715·x³)
//                                         (PyTorch's gelu(approximate='tanh'), HF's gelu_pytorch_tanh)
//   geglu(gate, up)  = geluTanh(gate) ⊙ up                       (Gemma-2's MLP)
//   erf(x)
//
// Each is one kernel forward and one fused kernel backward ('swigluBackward' and 'gegluBackward' →
// [dgate, dup], 'geluBackward' and 'geluTanhBackward' → dx); erf's gradient, 2/√π·exp(−x²), is
// written with elementwise ops. The backward kernels record no graph: these ops have no second
// derivative.
//
// Numerics: σ is evaluated from e = exp(−|g|) only (σ = 1/(1+e) or e/(1+e)), so nothing
// overflows at ±large g; 1 − σ comes from the same two quotients, never as a difference.
// geluTanh is evaluated as x·σ(2u) (½(1 + tanh u) = σ(2u)): no tanh to overflow, and no 1 + tanh(u)
// to cancel in the lower tail. Its derivative σ(2u) + x·σ(2u)(1 − σ(2u))·2u′, 2u′ = 2√(2/π)·(1 +
// 3·0.044715·x²), reads x² capped at 1e6: past |x| ≈ 11 the product σ(1 − σ) is already 0, and the
// cap keeps 0·∞ from making NaN at |x| > 1.8e19.
// erf and Φ: see cpu.ts (float64 reference) and webgpu.ts (float32 approximation and its error).
import { type DType, bytesPerElement, isFloat } from '../../autograd/dtype.js';
import { type Shape, sizeOf } from '../../autograd/shape.js';
import type { KernelCost } from '../cost.js';

type Info = { shape: Shape; dtype: DType };

export function checkFloat(op: string, x: Info): void {
  if (!isFloat(x.dtype)) throw new Error(`${op}() needs a float tensor, got ${x.dtype}; cast it first (x.cast('float32'))`);
}

/** Tensors an elementwise kernel takes together: same shape and dtype (no broadcasting). */
export function checkSame(op: string, names: string[], ts: Info[]): void {
  checkFloat(op, ts[0]);
  for (let i = 1; i < ts.length; i++) {
    const a = ts[0], b = ts[i];
    if (b.dtype !== a.dtype || b.shape.length !== a.shape.length || b.shape.some((d, k) => d !== a.shape[k])) {
      throw new Error(`${op}(): ${names[i]} (${b.dtype} [${b.shape}]) must match ${names[0]} (${a.dtype} [${a.shape}])`);
    }
  }
}

/** swiglu: exp, add, divide (σ), g·σ, ·up = 5 FLOPs per element; reads gate and up, writes y. */
export function swigluCost(shape: Shape, dtype: DType): KernelCost {
  const n = sizeOf(shape);
  return { flops: 5 * n, bytes: 3 * n * bytesPerElement(dtype) };
}

/**
 * swigluBackward: σ and 1 − σ (exp, add, divide, multiply = 4), silu (1), dup = dy·silu (1),
 * dgate = dy·up·σ·(1 + g·(1 − σ)) (5) = 11; reads gate, up, dy, writes dgate, dup.
 */
export function swigluBackwardCost(shape: Shape, dtype: DType): KernelCost {
  const n = sizeOf(shape);
  return { flops: 11 * n, bytes: 5 * n * bytesPerElement(dtype) };
}

/** The gated activations a gated MLP (and matmulGated) can apply: silu (swiglu), gelu_tanh (geglu). */
export type GatedActivation = 'silu' | 'gelu_tanh';
export const GATED_ACTIVATIONS: readonly GatedActivation[] = ['silu', 'gelu_tanh'];

export function checkGatedActivation(op: string, activation: string): asserts activation is GatedActivation {
  if (!GATED_ACTIVATIONS.includes(activation as GatedActivation)) {
    throw new Error(`${op}: activation must be one of ${GATED_ACTIVATIONS.map((a) => `'${a}'`).join(', ')}, got '${activation}'`);
  }
}

/** gelu: x/√2, erfc (counted as one, like exp), Φ (2), x·Φ = 5 FLOPs per element. */
export function geluCost(shape: Shape, dtype: DType): KernelCost {
  const n = sizeOf(shape);
  return { flops: 5 * n, bytes: 2 * n * bytesPerElement(dtype) };
}

/** geluBackward: Φ (4), φ = exp(−x²/2)/√(2π) (4), Φ + x·φ (2), ·dy (1) = 11. */
export function geluBackwardCost(shape: Shape, dtype: DType): KernelCost {
  const n = sizeOf(shape);
  return { flops: 11 * n, bytes: 3 * n * bytesPerElement(dtype) };
}

/** geluTanh: 2u (4), σ (exp, add, divide = 3), x·σ (1) = 8 FLOPs per element. */
export function geluTanhCost(shape: Shape, dtype: DType): KernelCost {
  const n = sizeOf(shape);
  return { flops: 8 * n, bytes: 2 * n * bytesPerElement(dtype) };
}

/** geluTanhBackward: 2u and σ, 1 − σ (8), 2u′ (4), σ + x·σ(1 − σ)·2u′ (4), ·dy (1) = 17. */
export function geluTanhBackwardCost(shape: Shape, dtype: DType): KernelCost {
  const n = sizeOf(shape);
  return { flops: 17 * n, bytes: 3 * n * bytesPerElement(dtype) };
}

/** geglu: geluTanh (8), ·up (1) = 9 FLOPs per element; reads gate and up, writes y. */
export function gegluCost(shape: Shape, dtype: DType): KernelCost {
  const n = sizeOf(shape);
  return { flops: 9 * n, bytes: 3 * n * bytesPerElement(dtype) };
}

/** gegluBackward: geluTanh and its derivative sharing 2u and σ (18), dup = dy·geluTanh (1), dgate = dy·up·d (2) = 21. */
export function gegluBackwardCost(shape: Shape, dtype: DType): KernelCost {
  const n = sizeOf(shape);
  return { flops: 21 * n, bytes: 5 * n * bytesPerElement(dtype) };
}
