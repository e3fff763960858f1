// Differentiable swiglu, gelu and erf. swiglu and gelu backward are fused kernels (one pass over
// the inputs instead of a chain of elementwise ops); erf's gradient is written with other ops.
import { Tensor } from '../../autograd/tensor.js';
import { runOp, runOpMulti } from '../../autograd/op.js';
import { exp, mul, neg, square } from '../elementwise/op.js';
import { checkFloat, checkSame } from './contract.js';

/**
 * swiglu(gate, up) = silu(gate) ⊙ up, silu(g) = g·σ(g) (LLaMA's MLP, Hugging Face's
 * act_fn(gate_proj(x)) * up_proj(x) with hidden_act "silu"). gate and up: same shape and dtype.
 * Gradients: dgate = dy ⊙ up ⊙ σ(g)·(1 + g·(1 − σ(g))), dup = dy ⊙ silu(g).
 */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  checkSame('swiglu', ['gate', 'up'], [gate, up]);
  const out = runOp('swiglu', [gate, up], {}, (dy, { inputs: [g, u] }) => {
    const [dgate, dup] = runOpMulti('swigluBackward', [g, u, dy], {});
    if (!g.requiresGrad) dgate.dispose();
    if (!u.requiresGrad) dup.dispose();
    return [g.requiresGrad ? dgate : null, u.requiresGrad ? dup : null];
  }, { inputs: [0, 1] });
  // Its node keeps gate and up: a rule that reads the output (the down projection's) recomputes it
  // from them instead of keeping it (I floats per token per LLaMA layer).
  if (out.node) out.recipe = { inputs: [gate, up], run: ([g, u]) => runOp('swiglu', [g, u], {}) };
  return out;
}

/**
 * GELU, the exact (erf) form: x·Φ(x) = ½·x·(1 + erf(x/√2)) (torch.nn.functional.gelu with
 * approximate='none'; BERT's hidden_act "gelu"). Gradient: dy ⊙ (Φ(x) + x·φ(x)).
 */
export function gelu(x: Tensor): Tensor {
  checkFloat('gelu', x);
  return runOp('gelu', [x], {}, (dy, { inputs: [input] }) => [runOp('geluBackward', [input, dy], {})], { inputs: [0] });
}

/** The error function, elementwise. Gradient: dy ⊙ 2/√π·exp(−x²). */
export function erf(x: Tensor): Tensor {
  checkFloat('erf', x);
  return runOp('erf', [x], {}, (dy, { inputs: [input] }) => [mul(dy, mul(exp(neg(square(input))), 2 / Math.sqrt(Math.PI)))], { inputs: [0] });
}
