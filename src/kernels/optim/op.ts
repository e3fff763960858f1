// The fused updates as plain functions on tensors (no graph: an update is not differentiable).
// They write p and the state tensors in place and return nothing. The optimizer classes in
// optimizers.ts keep the state and the step counts; these are for callers that manage their own.
import type { Tensor } from '../../autograd/tensor.js';
import { runOpMulti } from '../../autograd/op.js';
import { type AdamWAttrs, type RMSpropAttrs } from './contract.js';

/** One torch.optim.AdamW step on p (in place), with exp_avg m and exp_avg_sq v (in place). */
export function adamwUpdate(p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, attrs: AdamWAttrs): void {
  runOpMulti<AdamWAttrs>('adamw', [p, grad, expAvg, expAvgSq], attrs);
}

/**
 * One torch.optim.RMSprop step on p (in place), with square_avg, and grad_avg when centered,
 * momentum_buffer when momentum > 0 (all in place).
 */
export function rmspropUpdate(p: Tensor, grad: Tensor, state: { squareAvg: Tensor; gradAvg?: Tensor; momentumBuffer?: Tensor }, attrs: RMSpropAttrs): void {
  const inputs = [p, grad, state.squareAvg];
  if (attrs.centered) {
    if (!state.gradAvg) throw new Error('rmspropUpdate: centered needs state.gradAvg');
    inputs.push(state.gradAvg);
  }
  if (attrs.momentum > 0) {
    if (!state.momentumBuffer) throw new Error('rmspropUpdate: momentum > 0 needs state.momentumBuffer');
    inputs.push(state.momentumBuffer);
  }
  runOpMulti<RMSpropAttrs>('rmsprop', inputs, attrs);
}
