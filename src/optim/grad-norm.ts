// Gradient clipping as torch.nn.utils.clip_grad_norm_: the total norm of all the gradients, and
// the factor the optimizer's step scales every gradient by.
import type { Tensor } from '../autograd/tensor.js';
import { noGrad } from '../autograd/scope.js';
import { add, mul, sqrt } from '../kernels/elementwise/op.js';
import { sum } from '../kernels/reduce/op.js';

/**
 * torch.nn.utils.clip_grad_norm_'s factor for a total gradient norm: min(1, maxNorm / (norm + 1e-6)).
 * Pass it to optimizer.step(). A non-finite norm gives NaN (torch would scale by it too; the
 * trainer refuses such a step before it gets here).
 */
export function clipGradNormScale(totalNorm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`clipGradNormScale: maxNorm must be > 0, got ${maxNorm}`);
  return Math.min(1, maxNorm / (totalNorm + 1e-6));
}

/**
 * The L2 norm of all the parameters' gradients together, √(Σ_p Σ g²) (clip_grad_norm_'s total
 * norm), as a scalar tensor on their device, without a graph; null when no parameter has a gradient.
 */
export function totalGradNorm(params: readonly Tensor[]): Tensor | null {
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null && g !== undefined);
  if (grads.length === 0) return null;
  return noGrad(() => sqrt(grads.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b))));
}
