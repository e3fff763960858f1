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

// argmax along the last axis: the index of the first largest value, int32. NaN ranks below every
// number (a row of NaN gives 0), so a NaN neither wins nor hides a later maximum; -0 and +0 tie.
// Greedy decoding reads back these B indices instead of B rows of logits.

/** Whether value v at index i beats value w at index j under argmax's order. */
export function argmaxBeats(v: number, i: number, w: number, j: number): boolean {
  const [a, b] = [Number.isNaN(v), Number.isNaN(w)];
  if (a !== b) return b;
  return a ? i < j : v > w || (v === w && i < j);
}

/** argmax of values[start, start + len) (an index into that range); 0 for an empty range. */
export function argmaxOf(values: ArrayLike<number>, start = 0, len = values.length - start): number {
  let best = 0;
  for (let k = 1; k < len; k++) if (argmaxBeats(values[start + k], k, values[start + best], best)) best = k;
  return best;
}
