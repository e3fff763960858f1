// Shape ops. reshape is a view (shared memory, no kernel); the others are one strided-copy kernel,
// and each one's gradient is another of them.
import { Tensor, viewOf } from '../../autograd/tensor.js';
import { runOp, recordNode, SAVES_NOTHING } from '../../autograd/op.js';
import { type Shape, broadcastShapes, broadcastStrides, normalizeAxis, sameShape, sizeOf, stridesOf } from '../../autograd/shape.js';
import { sumToShape } from '../../autograd/sum-to-shape.js';
import { fromBfloat16, toBfloat16 } from '../bfloat16/op.js';

/** Same data, new shape (one dimension may be -1). Shares memory with x. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const hole = s.indexOf(-1);
  if (hole >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== hole));
    s[hole] = rest === 0 ? 0 : x.size / rest;
  }
  if (sizeOf(s) !== x.size || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`cannot reshape [${x.shape}] (${x.size} elements) to [${shape}]`);
  }
  const y = viewOf(x, s);
  recordNode('reshape', [x], [y], ([dy]) => [dy ? reshape(dy, x.shape) : null], SAVES_NOTHING);
  // A view of a recomputable tensor is recomputable (a projection saves the flattened view).
  const recipe = x.recipe;
  if (recipe) y.recipe = { inputs: recipe.inputs, run: (xs) => reshape(recipe.run(xs), s) };
  return y;
}

export const flatten = (x: Tensor): Tensor => reshape(x, [x.size]);

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis(axis, x.rank + 1);
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normalizeAxis(axis, x.rank);
  if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${axis} of [${x.shape}] has size ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

/** Reorders the axes: output axis i is input axis perm[i]. */
export function permute(x: Tensor, perm: number[]): Tensor {
  const p = perm.map((a) => normalizeAxis(a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) throw new Error(`permute: [${perm}] is not a permutation of ${x.rank} axes`);
  if (p.every((a, i) => a === i)) return reshape(x, x.shape);
  // Moving only axes of size 1 keeps the elements in memory order: a reshape (a view), no copy.
  // (A decoding step's [B, 1, H, D] ↔ [B, H, 1, D] head moves are such.)
  const moved = p.filter((a) => x.shape[a] !== 1);
  if (moved.every((a, i) => i === 0 || a > moved[i - 1])) return reshape(x, p.map((a) => x.shape[a]));
  const st = stridesOf(x.shape);
  const shape = p.map((a) => x.shape[a]);
  const inverse = new Array<number>(p.length);
  p.forEach((a, i) => (inverse[a] = i));
  const y = runOp('strided', [x], { shape, offset: 0, strides: p.map((a) => st[a]) }, (dy) => [permute(dy, inverse)], SAVES_NOTHING);
  // A permuted copy of a tensor its producer's node keeps (attention's output, before the head merge)
  // is recomputed by whatever rule reads it, rather than kept twice.
  if (y.node && keptByItsNode(x)) y.recipe = { inputs: [x], run: ([xi]) => permute(xi, p) };
  return y;
}

/** Whether x's own graph node holds x among its saved tensors (its memory is kept anyway). */
function keptByItsNode(x: Tensor): boolean {
  const node = x.node;
  if (!node || x.isDisposed) return false;
  const mine = x.storage;
  return node.saved.some((h) => !h.isDisposed && h.storage === mine);
}

/** Swaps two axes (the last two by default). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = x.shape.map((_, i) => i);
  const i = normalizeAxis(a, x.rank), j = normalizeAxis(b, x.rank);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** The block starting at `begin` with extent `size` (-1: to the end), as tf.slice. */
export function slice(x: Tensor, begin: number[], size: number[]): Tensor {
  if (begin.length !== x.rank || size.length !== x.rank) throw new Error(`slice: begin [${begin}] and size [${size}] need ${x.rank} entries for shape [${x.shape}]`);
  const shape = size.map((s, i) => (s === -1 ? x.shape[i] - begin[i] : s));
  shape.forEach((s, i) => {
    if (begin[i] < 0 || s < 0 || begin[i] + s > x.shape[i]) throw new Error(`slice: [${begin[i]}, ${begin[i] + s}) is outside axis ${i} of [${x.shape}]`);
  });
  const st = stridesOf(x.shape);
  const offset = begin.reduce((o, b, i) => o + b * st[i], 0);
  return runOp('strided', [x], { shape, offset, strides: st }, (dy) => [runOp('padRegion', [dy], { outShape: x.shape, offset, strides: st })], SAVES_NOTHING);
}

/** Elements [start, start + length) along one axis (torch.narrow). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis(axis, x.rank);
  return slice(x, x.shape.map((_, i) => (i === a ? start : 0)), x.shape.map((d, i) => (i === a ? length : d)));
}

export function concat(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('concat of no tensors');
  const a = normalizeAxis(axis, xs[0].rank);
  return runOp('concat', xs, { axis: a }, (dy) => {
    let at = 0;
    return xs.map((x) => {
      const g = x.requiresGrad ? narrow(dy, a, at, x.shape[a]) : null;
      at += x.shape[a];
      return g;
    });
  }, SAVES_NOTHING);
}

/** Stacks same-shaped tensors along a new axis. */
export function stack(xs: Tensor[], axis = 0): Tensor {
  return concat(xs.map((x) => unsqueeze(x, axis)), axis);
}

/** Materialises NumPy broadcasting of x to `shape`. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes(x.shape, shape);
  if (!sameShape(target, shape)) throw new Error(`cannot broadcast [${x.shape}] to [${shape}]`);
  if (sameShape(x.shape, shape)) return reshape(x, shape);
  return runOp('strided', [x], { shape: [...shape], offset: 0, strides: broadcastStrides(x.shape, shape) }, (dy) => [sumToShape(dy, x.shape)], SAVES_NOTHING);
}

/** A copy with its own memory. */
export function clone(x: Tensor): Tensor {
  // bfloat16 (storage only) copies through float32 and back, which is exact.
  if (x.dtype === 'bfloat16') return toBfloat16(fromBfloat16(x));
  return runOp('strided', [x], { shape: x.shape, offset: 0, strides: stridesOf(x.shape) }, (dy) => [dy], SAVES_NOTHING);
}
