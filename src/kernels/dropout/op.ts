// Differentiable dropout. The gradient is the same mask applied to dy (the op is linear in x), so
// backward regenerates it from the seed instead of keeping it.
import type { Tensor } from '../../autograd/tensor.js';
import { runOp, SAVES_NOTHING } from '../../autograd/op.js';
import { checkDropout, type DropoutAttrs } from './contract.js';

/**
 * Zeroes each element with probability p and scales the rest by 1/(1 − p) (inverted dropout, as
 * torch.nn.functional.dropout in training mode). The mask is a function of (seed, element index):
 * the same seed gives the same mask on every device. p = 0 returns x itself.
 */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  checkDropout(x, p, seed);
  if (p === 0) return x;
  return runOp<DropoutAttrs>('dropout', [x], { p, seed }, (dy) => [runOp<DropoutAttrs>('dropout', [dy], { p, seed })], SAVES_NOTHING);
}
