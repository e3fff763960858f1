// Differentiable swiglu, geglu, gelu, geluTanh and erf. All but erf have a fused backward kernel
// (one pass over the inputs instead of a chain of elementwise ops); erf's gradient is written with
// other ops.
import { Tensor } from '../../autograd/tensor.js';
import { runOp, runOpMulti } from '../../autograd/op.js';
import { exp, mul, neg, square } from '../elementwise/op.js';
import { type GatedActivation, checkFloat, checkGatedActivation, checkSame } from './contract.js';

/**
 * swiglu(gate, up) = silu(gate) ⊙ up, silu(g) = g·σ(g) (LLaMA's MLP, Hugging Face's
 * act_fn(gate_proj(x)) * up_proj(x) with hidden_act "silu"). gate and up: same shape and dtype.
 * Gradients: dgate = dy ⊙ up ⊙ σ(g)·(1 + g·(1 − σ(g))), dup = dy ⊙ silu(g).
 */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  return gatedUnit('swiglu', gate, up);
}

/**
 * geglu(gate, up) = geluTanh(gate) ⊙ up (Gemma-2's MLP: act_fn(gate_proj(x)) * up_proj(x) with
 * hidden_activation "gelu_pytorch_tanh"). gate and up: same shape and dtype.
 * Gradients: dgate = dy ⊙ up ⊙ geluTanh′(g), dup = dy ⊙ geluTanh(g).
 */
export function geglu(gate: Tensor, up: Tensor): Tensor {
  return gatedUnit('geglu', gate, up);
}

/** act(gate) ⊙ up for a gated MLP's activation by name: swiglu for 'silu', geglu for 'gelu_tanh'. */
export function gatedActivation(gate: Tensor, up: Tensor, activation: GatedActivation): Tensor {
  checkGatedActivation('gatedActivation', activation);
  return activation === 'silu' ? swiglu(gate, up) : geglu(gate, up);
}

/** A gated unit's kernel (`kernel`) forward and its fused backward (`${kernel}Backward` → [dgate, dup]). */
function gatedUnit(kernel: 'swiglu' | 'geglu', gate: Tensor, up: Tensor): Tensor {
  checkSame(kernel, ['gate', 'up'], [gate, up]);
  const out = runOp(kernel, [gate, up], {}, (dy, { inputs: [g, u] }) => {
    const [dgate, dup] = runOpMulti(`${kernel}Backward`, [g, u, dy], {});
    if (!g.requiresGrad) dgate.dispose();
    if (!u.requiresGrad) dup.dispose();
    return [g.requiresGrad ? dgate : null, u.requiresGrad ? dup : null];
  }, { inputs: [0, 1] });
  // Its node keeps gate and up: a rule that reads the output (the down projection's) recomputes it
  // from them instead of keeping it (I floats per token per MLP layer).
  if (out.node) out.recipe = { inputs: [gate, up], run: ([g, u]) => runOp(kernel, [g, u], {}) };
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

/**
 * GELU, the tanh approximation: ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (torch.nn.functional.gelu
 * with approximate='tanh'; Hugging Face's "gelu_pytorch_tanh", Gemma's activation), computed as
 * x·σ(2u) (contract.ts). Gradient: dy ⊙ (σ(2u) + x·σ(2u)(1 − σ(2u))·2u′), one kernel.
 */
export function geluTanh(x: Tensor): Tensor {
  checkFloat('geluTanh', x);
  return runOp('geluTanh', [x], {}, (dy, { inputs: [input] }) => [runOp('geluTanhBackward', [input, dy], {})], { inputs: [0] });
}

/** The error function, elementwise. Gradient: dy ⊙ 2/√π·exp(−x²). */
export function erf(x: Tensor): Tensor {
  checkFloat('erf', x);
  return runOp('erf', [x], {}, (dy, { inputs: [input] }) => [mul(dy, mul(exp(neg(square(input))), 2 / Math.sqrt(Math.PI)))], { inputs: [0] });
}
