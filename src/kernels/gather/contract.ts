// The gather family: reading and accumulating along one axis at int32 positions.
//
//   gather(x, axis, index)              out[p] = x[p with p[axis] := index[p]]          (torch.gather)
//   scatterAdd(target, axis, index, src) out = target; out[p with p[axis] := index[p]] += src[p]
//   indexSelect(x, axis, ids)           out[.., k, ..] = x[.., ids[k], ..]               (torch.index_select)
//   indexAdd(target, axis, ids, src)    out = target; out[.., ids[k], ..] += src[.., k, ..]
//   sort(x, axis, descending)           values and int32 indices, stable                (torch.sort(stable=True))
//
// gather/scatterAdd are each other's adjoints, and so are indexSelect/indexAdd; sort's gradient is a
// scatterAdd through its indices. Shapes are checked here, once, for both devices.
//
// Cost (n = elements of the output or of src, bytes for 4-byte elements):
//   gather, indexSelect: 0 FLOPs; reads n index words + n values, writes n values (12n bytes).
//   scatterAdd, indexAdd: n adds; writes the target once (copy or fill), then n read-modify-writes.
//   sort (WGSL rank counting): len comparisons per element, i.e. outer·inner·len² key reads.
import type { DType } from '../../autograd/dtype.js';
import { type Shape, normalizeAxis, sizeOf, stridesOf } from '../../autograd/shape.js';

export interface AxisAttrs {
  axis: number;
}

/** scatterAdd/indexAdd: inputs [index, src] (zeros target of `shape`) or [index, src, target]. */
export interface AccumulateAttrs {
  axis: number;
  /** The target's shape; the target is zeros of it when no target tensor is passed. */
  shape: Shape;
}

export interface SortAttrs {
  axis: number;
  descending: boolean;
}

/** Rank-0 tensors are treated as shape [1] (one element along axis 0), as PyTorch does. */
function atLeast1d(shape: Shape): Shape {
  return shape.length === 0 ? [1] : shape;
}

function checkIndexDtype(op: string, dtype: DType): void {
  if (dtype !== 'int32') throw new Error(`${op}: the index tensor must be int32, got ${dtype}`);
}

/**
 * How gather and scatterAdd walk the index tensor: for flat position i of the index shape with
 * coordinates p, the x (or target) element is `Σ_d p[d]·baseStrides[d] + index[i]·axisStride`,
 * where baseStrides is x's strides with the axis's entry zeroed.
 */
export interface GatherLayout {
  /** Axis, normalised. */
  axis: number;
  /** Index shape (rank ≥ 1). */
  indexShape: number[];
  baseStrides: number[];
  axisStride: number;
  /** Valid index values are [0, axisLen). */
  axisLen: number;
}

/** torch.gather/scatter_add's contract: same rank, and index no larger than x off the axis. */
export function gatherLayout(op: string, xShape: Shape, axis: number, indexShape: Shape, indexDtype: DType): GatherLayout {
  checkIndexDtype(op, indexDtype);
  if (xShape.length !== indexShape.length) {
    throw new Error(`${op}: index of shape [${indexShape}] must have the same rank as the ${op === 'gather' ? 'input' : 'target'} [${xShape}]`);
  }
  const xs = atLeast1d(xShape);
  const is = atLeast1d(indexShape);
  const a = normalizeAxis(axis, xShape.length);
  for (let d = 0; d < xs.length; d++) {
    if (d !== a && is[d] > xs[d]) {
      throw new Error(`${op}: index of shape [${indexShape}] is larger than [${xShape}] on dimension ${d} (only axis ${a} may differ)`);
    }
  }
  const strides = stridesOf(xs);
  const baseStrides = strides.map((s, d) => (d === a ? 0 : s));
  return { axis: a, indexShape: [...is], baseStrides, axisStride: strides[a], axisLen: xs[a] };
}

/** scatterAdd additionally needs src with the index's shape. */
export function scatterLayout(targetShape: Shape, axis: number, indexShape: Shape, indexDtype: DType, srcShape: Shape): GatherLayout {
  const layout = gatherLayout('scatterAdd', targetShape, axis, indexShape, indexDtype);
  if (srcShape.length !== indexShape.length || srcShape.some((d, i) => d !== indexShape[i])) {
    throw new Error(`scatterAdd: src of shape [${srcShape}] must have the index's shape [${indexShape}]`);
  }
  return layout;
}

/** x seen as [outer, len, inner] around the axis; the selection has `count` entries. */
export interface SelectLayout {
  axis: number;
  outer: number;
  len: number;
  inner: number;
  count: number;
  /** x's shape with the axis replaced by count. */
  outShape: number[];
}

/** torch.index_select's contract: a 1-D int32 index (a 0-d one counts as one entry). */
export function selectLayout(op: string, xShape: Shape, axis: number, idsShape: Shape, idsDtype: DType): SelectLayout {
  checkIndexDtype(op, idsDtype);
  if (idsShape.length > 1) throw new Error(`${op}: indices must be 1-D, got shape [${idsShape}]`);
  const xs = atLeast1d(xShape);
  const a = normalizeAxis(axis, xShape.length);
  const count = sizeOf(idsShape);
  const outShape = xShape.length === 0 ? [] : xs.map((d, i) => (i === a ? count : d));
  if (xShape.length === 0 && count !== 1) throw new Error(`${op}: a 0-d input takes exactly one index, got ${count}`);
  return { axis: a, outer: sizeOf(xs.slice(0, a)), len: xs[a], inner: sizeOf(xs.slice(a + 1)), count, outShape };
}

/** indexAdd: src must have the target's shape with the axis replaced by the number of indices. */
export function indexAddLayout(targetShape: Shape, axis: number, idsShape: Shape, idsDtype: DType, srcShape: Shape): SelectLayout {
  const layout = selectLayout('indexAdd', targetShape, axis, idsShape, idsDtype);
  if (srcShape.length !== layout.outShape.length || srcShape.some((d, i) => d !== layout.outShape[i])) {
    throw new Error(`indexAdd: src of shape [${srcShape}] must be [${layout.outShape}] (the target [${targetShape}] with axis ${layout.axis} of length ${layout.count})`);
  }
  return layout;
}

/** sort: rows along the axis, seen as [outer, len, inner]. */
export function sortLayout(shape: Shape, axis: number): { outer: number; len: number; inner: number } {
  const xs = atLeast1d(shape);
  const a = normalizeAxis(axis, shape.length);
  return { outer: sizeOf(xs.slice(0, a)), len: xs[a], inner: sizeOf(xs.slice(a + 1)) };
}

/** The error both CPU kernels raise for an index outside [0, len). */
export function indexOutOfRange(op: string, value: number, len: number, axis: number): Error {
  return new Error(`${op}: index ${value} is out of range for axis ${axis} of length ${len} (valid range [0, ${len}))`);
}
