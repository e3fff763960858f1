// Differentiable rmsNorm and layerNorm over the last axis, and addRmsNorm (a residual add fused
// with the norm after it, for inference). Forward: one kernel. Backward: one kernel for dx (which
// recomputes the row statistics; see contract.ts) plus, for the weight and bias, a sum over rows
// with the reduce family: dw = Σ_rows dy ⊙ x̂, db = Σ_rows dy.
// The backward kernels record no graph, so these ops have no second derivative.
import { Tensor } from '../../autograd/tensor.js';
import { runOp, runOpMulti } from '../../autograd/op.js';
import { reshape } from '../copy/op.js';
import { sum } from '../reduce/op.js';
import { type NormAttrs, type NormBackwardAttrs, type RmsNormAttrs, checkAddNormInputs, checkEps, checkNormInputs, checkOffset, normLayout } from './contract.js';
import { add } from '../elementwise/op.js';
import { isGradEnabled } from '../../autograd/scope.js';

/** Σ over every row of a tensor of x's shape: [n]. */
function sumRows(t: Tensor): Tensor {
  const { rows, n } = normLayout(t.shape);
  const view = reshape(t, [rows, n]);
  const s = sum(view, 0);
  view.dispose();
  return s;
}

/** The gradient rule shared by both norms; returns [dx, dw]. */
function normGrad(kernel: string, x: Tensor, w: Tensor, dy: Tensor, eps: number, offset = 0): [Tensor | null, Tensor | null] {
  const weightGrad = w.requiresGrad;
  const [dx, terms] = runOpMulti<NormBackwardAttrs>(kernel, [x, w, dy], offset === 0 ? { eps, weightGrad } : { eps, weightGrad, offset });
  let dw: Tensor | null = null;
  if (terms) {
    dw = sumRows(terms);
    terms.dispose();
  }
  if (!x.requiresGrad) {
    dx.dispose();
    return [null, dw];
  }
  return [dx, dw];
}

/**
 * RMSNorm as Hugging Face's LlamaRMSNorm: y = weight ⊙ (x · rsqrt(mean(x², last axis) + eps)).
 * weight has shape [x.shape.at(-1)]. eps defaults to 1e-6 (LlamaConfig's rms_norm_eps). With an
 * offset the weight multiplies as (weight + offset) (Gemma: 1), the bits of add(weight, offset)
 * then rmsNorm in one launch; the weight's gradient is the same.
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6, offset = 0): Tensor {
  checkNormInputs('rmsNorm', x, [['weight', weight]]);
  checkEps('rmsNorm', eps);
  checkOffset('rmsNorm', offset);
  const attrs: RmsNormAttrs = { eps, offset };
  const y = runOp<RmsNormAttrs>('rmsNorm', [x, weight], attrs, (dy, { inputs: [xi, w] }) => normGrad('rmsNormBackward', xi, w, dy, eps, offset), { inputs: [0, 1] });
  // Its node keeps x and the weight: the projections that read y recompute it instead of keeping it.
  if (y.node) y.recipe = { inputs: [x, weight], run: ([xi, w]) => runOp<RmsNormAttrs>('rmsNorm', [xi, w], attrs) };
  return y;
}

/**
 * A pre-norm block's residual add and the norm after it: [s, rmsNorm(s, weight, eps, offset)], s = x + residual
 * (same shapes, no broadcasting). Where no gradient is recorded (inference, a frozen reference's
 * forward) one kernel writes both, the same values bit for bit as the two ops; otherwise it is the
 * two ops, with their gradients.
 */
export function addRmsNorm(x: Tensor, residual: Tensor, weight: Tensor, eps = 1e-6, offset = 0): [Tensor, Tensor] {
  checkAddNormInputs(x, residual, weight);
  checkEps('addRmsNorm', eps);
  checkOffset('addRmsNorm', offset);
  if (isGradEnabled() && [x, residual, weight].some((t) => t.requiresGrad)) {
    const s = add(x, residual);
    return [s, rmsNorm(s, weight, eps, offset)];
  }
  const [s, y] = runOpMulti<RmsNormAttrs>('addRmsNorm', [x, residual, weight], { eps, offset });
  return [s, y];
}

/**
 * LayerNorm over the last axis with weight and bias (torch.nn.LayerNorm, biased variance):
 * y = (x − mean) / sqrt(var + eps) ⊙ weight + bias. eps defaults to 1e-5 (torch's; BERT
 * configs give layer_norm_eps = 1e-12).
 */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  checkNormInputs('layerNorm', x, [['weight', weight], ['bias', bias]]);
  checkEps('layerNorm', eps);
  const y = runOp<NormAttrs>('layerNorm', [x, weight, bias], { eps }, (dy, { inputs: [xi, w, b] }) => {
    const [dx, dw] = normGrad('layerNormBackward', xi, w, dy, eps);
    return [dx, dw, b.requiresGrad ? sumRows(dy) : null];
  }, { inputs: [0, 1] });
  // As rmsNorm's (the bias is a parameter, alive anyway).
  if (y.node) y.recipe = { inputs: [x, weight, bias], run: ([xi, w, b]) => runOp<NormAttrs>('layerNorm', [xi, w, b], { eps }) };
  return y;
}
