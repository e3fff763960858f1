// Differentiable reductions: sum, mean, max, min over one axis, several, or all.
import { Tensor } from '../../autograd/tensor.js';
import { runOp, recordNode, SAVES_NOTHING } from '../../autograd/op.js';
import { noGrad } from '../../autograd/scope.js';
import { isFloat } from '../../autograd/dtype.js';
import { type Shape, normalizeAxis } from '../../autograd/shape.js';
import { reshape, broadcastTo } from '../copy/op.js';
import { mul, div, equal } from '../elementwise/op.js';
import type { ReduceOp } from './contract.js';

export type Axes = number | number[] | undefined;

function axesOf(x: Tensor, axis: Axes): number[] {
  const all = x.shape.map((_, i) => i);
  if (axis === undefined) return all;
  const list = (Array.isArray(axis) ? axis : [axis]).map((a) => normalizeAxis(a, x.rank));
  if (new Set(list).size !== list.length) throw new Error(`repeated axis in [${axis}]`);
  return list.sort((a, b) => a - b);
}

function keptShape(shape: Shape, axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function droppedShape(shape: Shape, axes: number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

/** One reduction kernel per axis, innermost first; the result keeps the axes as size 1. */
function reduceKeep(op: ReduceOp, x: Tensor, axes: number[]): Tensor {
  let y = x;
  for (let k = axes.length - 1; k >= 0; k--) {
    const next = runOp(op, [y], { axis: axes[k] });
    if (y !== x) y.dispose();
    y = next;
  }
  return y === x ? reshape(x, x.shape) : y;
}

function finish(y: Tensor, x: Tensor, axes: number[], keepdims: boolean): Tensor {
  return keepdims ? y : reshape(y, droppedShape(x.shape, axes));
}

/**
 * The index of the largest value along the last axis (torch.argmax(x, -1)), int32 [...x.shape
 * without its last axis]: the first on ties; NaN ranks below every number (a row of NaN gives 0).
 * No gradient. Greedy decoding reads these back instead of the logits.
 */
export function argmax(x: Tensor): Tensor {
  if (!isFloat(x.dtype)) throw new Error(`argmax: x must be float, got ${x.dtype}`);
  if (x.rank === 0 || x.shape[x.rank - 1] === 0) throw new Error(`argmax: x [${x.shape}] has no last axis to search`);
  return runOp('argmax', [x], {});
}

/** Sum over `axis` (one, several, or all when omitted). */
export function sum(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  const axes = axesOf(x, axis);
  const y = noGradReduce('sum', x, axes, false, (dy) => broadcastTo(reshape(dy, keptShape(x.shape, axes)), x.shape));
  return finish(y, x, axes, keepdims);
}

export function mean(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  const axes = axesOf(x, axis);
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  return mul(sum(x, axes, keepdims), 1 / n);
}

/**
 * Max over `axis`. The gradient goes to every position equal to the max, split evenly between
 * ties (torch.amax's rule).
 */
export function max(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  return extremum('max', x, axis, keepdims);
}

export function min(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  return extremum('min', x, axis, keepdims);
}

function extremum(op: 'max' | 'min', x: Tensor, axis: Axes, keepdims: boolean): Tensor {
  const axes = axesOf(x, axis);
  if (axes.some((a) => x.shape[a] === 0)) throw new Error(`${op}() over an empty axis of shape [${x.shape}]`);
  const y = noGradReduce(op, x, axes, true, (dy, input, out) => {
    const hit = equal(input, out);
    const count = reduceKeep('sum', hit, axes);
    return mul(div(hit, count), reshape(dy, keptShape(x.shape, axes)));
  });
  return finish(y, x, axes, keepdims);
}

/**
 * Runs the reduction kernels unrecorded, then records the whole reduction as one graph node; the
 * rule reads x and the result only when `readsValues` (max, min), a sum's reads neither.
 */
function noGradReduce(op: ReduceOp, x: Tensor, axes: number[], readsValues: boolean, grad: (dy: Tensor, x: Tensor, out: Tensor) => Tensor): Tensor {
  const y = noGrad(() => reduceKeep(op, x, axes));
  recordNode(op, [x], [y], ([dy], { inputs, outputs }) => [dy ? grad(dy, inputs[0], outputs[0]) : null], readsValues ? undefined : SAVES_NOTHING);
  return y;
}
