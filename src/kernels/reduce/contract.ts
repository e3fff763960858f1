// Reductions along one axis: sum, max, min. The axis is kept as size 1 (keepdims); the op layer
// reshapes when the caller does not want it. Cost: one read of the input, one write per output.
import { type Shape, normalizeAxis, sizeOf } from '../../autograd/shape.js';

export type ReduceOp = 'sum' | 'max' | 'min';

export interface ReduceAttrs {
  axis: number;
}

/** The input seen as [outer, len, inner] around the reduced axis. */
export function reduceLayout(shape: Shape, axis: number): { outer: number; len: number; inner: number } {
  const a = normalizeAxis(axis, shape.length);
  if (shape.length === 0) return { outer: 1, len: 1, inner: 1 };
  return { outer: sizeOf(shape.slice(0, a)), len: shape[a], inner: sizeOf(shape.slice(a + 1)) };
}

export function reducedShape(shape: Shape, axis: number): number[] {
  if (shape.length === 0) return [];
  const a = normalizeAxis(axis, shape.length);
  return shape.map((d, i) => (i === a ? 1 : d));
}
