// The activation family, elementwise:
//
//   swiglu(gate, up) = silu(gate) ⊙ up,  silu(g) = g·σ(g)        (LLaMA's MLP: down(silu(gate(x)) ⊙ up(x)))
//   gelu(x)          = x·Φ(x) = ½·x·(1 + erf(x/√2))               (BERT's "gelu", the erf form)
//   erf(x)
//
// Each is one kernel forward and one fused kernel backward ('swigluBackward' → [dgate, dup],
// 'geluBackward' → dx); erf's gradient, 2/√π·exp(−x²), is written with elementwise ops.
// The backward kernels record no graph: these ops have no second derivative.
//
// Numerics: σ is evaluated from e = exp(−|g|) only (σ = 1/(1+e) or e/(1+e)), so nothing
// overflows at ±large g; 1 − σ comes from the same two quotients, never as a difference.
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
