// Differentiable gather-family ops. Each backward is another op of the family: gather and
// scatterAdd are adjoints (reading x at the index positions vs adding into them), so are
// indexSelect and indexAdd, and sort's values are a gather through its indices, so their gradient
// is a scatterAdd through the same indices. Index tensors are int32 and get no gradient.
import { Tensor } from '../../autograd/tensor.js';
import { runOp, runOpMulti } from '../../autograd/op.js';
import { type Shape, normalizeAxis } from '../../autograd/shape.js';
import type { AccumulateAttrs, AxisAttrs, SortAttrs } from './contract.js';
import { reshape } from '../copy/op.js';

/** A 0-d tensor has one axis for these ops (axis 0 or -1), as in PyTorch. */
function axisOf(axis: number, rank: number): number {
  return normalizeAxis(axis, Math.max(rank, 1));
}

function sameDtype(op: string, what: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) throw new Error(`${op}: ${what} is ${b.dtype} but the target is ${a.dtype}; cast one of them`);
}

/**
 * torch.gather: out has index's shape, and out[i][j][k] = x[index[i][j][k]][j][k] for axis 0
 * (likewise for the other axes). index is int32 with x's rank and no larger than x off the axis.
 * Gradient: dy added into zeros of x's shape at the same positions (repeated indices accumulate).
 */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = axisOf(axis, x.rank);
  return runOp<AxisAttrs>('gather', [x, index], { axis: a }, (dy, { inputs: [, idx] }) => [scatterAdd(x.shape, a, idx, dy), null], { inputs: [1] });
}

/**
 * Out-of-place torch.scatter_add: a copy of `target` (or zeros of that shape, when a shape is given)
 * with out[index[i][j][k]][j][k] += src[i][j][k] for axis 0. src has index's shape. Repeated indices
 * accumulate (on WebGPU in a run-dependent order: see webgpu.ts).
 */
export function scatterAdd(target: Tensor | Shape, axis: number, index: Tensor, src: Tensor): Tensor {
  const shape = target instanceof Tensor ? target.shape : [...target];
  const a = axisOf(axis, shape.length);
  const inputs = [index, src];
  if (target instanceof Tensor) {
    sameDtype('scatterAdd', 'src', target, src);
    inputs.push(target);
  }
  return runOp<AccumulateAttrs>('scatterAdd', inputs, { axis: a, shape }, (dy, { inputs: [idx, s, t] }) => [
    null,
    s.requiresGrad ? gather(dy, a, idx) : null,
    ...(t ? [dy] : []),
  ], { inputs: [0] });
}

/**
 * torch.index_select: x's shape with `axis` replaced by the number of indices (a 1-D int32 tensor;
 * repeats allowed). indexSelect(weight, 0, ids) is an embedding lookup. Gradient: indexAdd of dy
 * into zeros of x's shape, so rows selected twice get both gradients.
 */
export function indexSelect(x: Tensor, axis: number, indices: Tensor): Tensor {
  const a = axisOf(axis, x.rank);
  return runOp<AxisAttrs>('indexSelect', [x, indices], { axis: a }, (dy, { inputs: [, idx] }) => [indexAdd(x.shape, a, idx, dy), null], { inputs: [1] });
}

/**
 * Embedding lookup (torch.nn.functional.embedding): rows `ids` of weight [vocab, dim], for ids of any
 * shape; the result has shape [...ids.shape, dim]. Its gradient scatter-adds dy into the rows that
 * were looked up (indexAdd), so a token seen twice gets both gradients.
 */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  if (weight.rank !== 2) throw new Error(`embedding: weight must be [vocab, dim], got [${weight.shape}]`);
  if (ids.dtype !== 'int32') throw new Error(`embedding: ids must be int32, got ${ids.dtype}`);
  const flat = ids.rank === 1 ? ids : reshape(ids, [ids.size]);
  const rows = indexSelect(weight, 0, flat);
  return ids.rank === 1 ? rows : reshape(rows, [...ids.shape, weight.shape[1]]);
}

/**
 * Out-of-place torch.index_add: a copy of `target` (or zeros of that shape) with slice
 * indices[k] along `axis` += slice k of src. src is the target's shape with that axis of length
 * indices.size. Repeated indices accumulate.
 */
export function indexAdd(target: Tensor | Shape, axis: number, indices: Tensor, src: Tensor): Tensor {
  const shape = target instanceof Tensor ? target.shape : [...target];
  const a = axisOf(axis, shape.length);
  const inputs = [indices, src];
  if (target instanceof Tensor) {
    sameDtype('indexAdd', 'src', target, src);
    inputs.push(target);
  }
  return runOp<AccumulateAttrs>('indexAdd', inputs, { axis: a, shape }, (dy, { inputs: [idx, s, t] }) => [
    null,
    s.requiresGrad ? indexSelect(dy, a, idx) : null,
    ...(t ? [dy] : []),
  ], { inputs: [0] });
}

export interface SortResult {
  values: Tensor;
  /** int32: values = gather(x, axis, indices). */
  indices: Tensor;
}

/**
 * Sorts along `axis` (ascending unless `descending`), stably: equal values keep their order. NaN
 * sorts above +Inf (last ascending, first descending) and -0 ties with +0, as in PyTorch. The
 * gradient of `values` is dy scattered back through `indices` (the graph keeps its own handle on
 * them, so disposing `indices` early is safe).
 */
export function sort(x: Tensor, axis = -1, descending = false): SortResult {
  const a = axisOf(axis, x.rank);
  const [values, indices] = runOpMulti<SortAttrs>('sort', [x], { axis: a, descending }, ([dv], { outputs }) => [
    dv ? scatterAdd(x.shape, a, outputs[1], dv) : null,
  ], { outputs: [1] });
  return { values, indices };
}
