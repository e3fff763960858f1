// Differentiable softmax, logSoftmax and logSigmoid. Forward: one kernel (any axis, no permute; see
// contract.ts). Backward: other ops, so the rules below run on whichever device holds the tensors.
import { Tensor } from '../../autograd/tensor.js';
import { runOp } from '../../autograd/op.js';
import { exp, mul, neg, sigmoid, sub } from '../elementwise/op.js';
import { sum } from '../reduce/op.js';
import { type SoftmaxAttrs, checkFloat, softmaxAxis } from './contract.js';

/**
 * softmax(x)_k = exp(x_k − max x) / Σ_j exp(x_j − max x) along `axis` (torch.softmax).
 * Gradient: dx = y ⊙ (dy − Σ_axis(dy ⊙ y)).
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkFloat('softmax', x.dtype);
  const a = softmaxAxis('softmax', x.shape, axis);
  return runOp<SoftmaxAttrs>('softmax', [x], { axis: a }, (dy, { outputs: [y] }) => [
    mul(y, sub(dy, sum(mul(dy, y), a, true))),
  ], { outputs: [0] });
}

/**
 * logSoftmax(x)_k = (x_k − max x) − log Σ_j exp(x_j − max x) along `axis` (torch.log_softmax).
 * Gradient: dx = dy − softmax(x) ⊙ Σ_axis dy, with softmax(x) = exp(y) (one elementwise kernel
 * instead of another row reduction).
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkFloat('logSoftmax', x.dtype);
  const a = softmaxAxis('logSoftmax', x.shape, axis);
  return runOp<SoftmaxAttrs>('logSoftmax', [x], { axis: a }, (dy, { outputs: [y] }) => [
    sub(dy, mul(exp(y), sum(dy, a, true))),
  ], { outputs: [0] });
}

/**
 * logσ(x) = −softplus(−x) = min(x, 0) − log1p(exp(−|x|)), finite for every finite x
 * (torch.nn.functional.logsigmoid). Gradient: dx = dy ⊙ σ(−x).
 */
export function logSigmoid(x: Tensor): Tensor {
  checkFloat('logSigmoid', x.dtype);
  return runOp('logSigmoid', [x], {}, (dy, { inputs: [input] }) => [mul(dy, sigmoid(neg(input)))], { inputs: [0] });
}
