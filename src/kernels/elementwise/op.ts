// Differentiable elementwise ops. Forward: one kernel. Backward: other ops, with gradients of
// broadcast inputs summed back to their shapes (sumToShape).
import { Tensor } from '../../autograd/tensor.js';
import { runOp, SAVES_EACH_OTHER, SAVES_NOTHING, type SaveSpec } from '../../autograd/op.js';
import { scalarLike } from '../../autograd/create.js';
import type { DType } from '../../autograd/dtype.js';
import { INT_OPS, type BinaryOp, type CompareOp, type UnaryOp } from './ops-table.js';
import { sumToShape } from '../../autograd/sum-to-shape.js';
import { fromBfloat16, toBfloat16 } from '../bfloat16/op.js';

export type TensorLike = Tensor | number;

function checkDtype(op: string, t: Tensor): void {
  if (t.dtype === 'int32' && !INT_OPS.has(op)) throw new Error(`${op}() needs a float tensor, got int32; cast it first (x.cast('float32'))`);
}

/** Numbers become scalars of the tensor's dtype and device. */
function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) {
    if (a.dtype !== b.dtype) throw new Error(`dtype mismatch: ${a.dtype} and ${b.dtype}; cast one of them`);
    return [a, b];
  }
  if (a instanceof Tensor) return [a, scalarLike(b as number, a)];
  if (b instanceof Tensor) return [scalarLike(a as number, b), b];
  throw new Error('at least one operand must be a tensor');
}

// What each rule reads (see Saves): the input, the output, or neither.
const X: SaveSpec = { inputs: [0] };
const Y: SaveSpec = { outputs: [0] };

function unary(op: UnaryOp, x: Tensor, saves: SaveSpec, grad?: (dy: Tensor, x: Tensor, y: Tensor) => Tensor | null): Tensor {
  checkDtype(op, x);
  return runOp(op, [x], {}, grad && ((dy, { inputs, outputs }) => [grad(dy, inputs[0], outputs[0])]), saves);
}

function binary(op: BinaryOp, a: TensorLike, b: TensorLike, saves: SaveSpec, grad?: (dy: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null]): Tensor {
  const [x, y] = pair(a, b);
  checkDtype(op, x);
  return runOp(op, [x, y], {}, grad && ((dy, { inputs: [ia, ib], outputs: [out] }) => {
    const [ga, gb] = grad(dy, ia, ib, out);
    return [ga && ia.requiresGrad ? sumToShape(ga, ia.shape) : null, gb && ib.requiresGrad ? sumToShape(gb, ib.shape) : null];
  }), saves);
}

// --- unary ---
export const neg = (x: Tensor): Tensor => unary('neg', x, SAVES_NOTHING, (dy) => neg(dy));
export const abs = (x: Tensor): Tensor => unary('abs', x, X, (dy, x) => mul(dy, sign(x)));
export const exp = (x: Tensor): Tensor => unary('exp', x, Y, (dy, _x, y) => mul(dy, y));
export const log = (x: Tensor): Tensor => unary('log', x, X, (dy, x) => div(dy, x));
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, Y, (dy, _x, y) => div(mul(dy, 0.5), y));
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x, Y, (dy, _x, y) => mul(dy, mul(pow(y, 3), -0.5)));
export const square = (x: Tensor): Tensor => unary('square', x, X, (dy, x) => mul(dy, mul(x, 2)));
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x, Y, (dy, _x, y) => neg(mul(dy, square(y))));
export const relu = (x: Tensor): Tensor => unary('relu', x, X, (dy, x) => mul(dy, greater(x, 0)));
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, Y, (dy, _x, y) => mul(dy, mul(y, sub(1, y))));
export const tanh = (x: Tensor): Tensor => unary('tanh', x, Y, (dy, _x, y) => mul(dy, sub(1, square(y))));
export const sin = (x: Tensor): Tensor => unary('sin', x, X, (dy, x) => mul(dy, cos(x)));
export const cos = (x: Tensor): Tensor => unary('cos', x, X, (dy, x) => neg(mul(dy, sin(x))));
/** -1, 0 or 1; its gradient is zero almost everywhere, so none flows. */
export const sign = (x: Tensor): Tensor => unary('sign', x, SAVES_NOTHING);

// --- binary, with broadcasting ---
export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b, SAVES_NOTHING, (dy) => [dy, dy]);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b, SAVES_NOTHING, (dy) => [dy, neg(dy)]);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b, SAVES_EACH_OTHER, (dy, a, b) => [
  a.requiresGrad ? mul(dy, b) : null,
  b.requiresGrad ? mul(dy, a) : null,
]);
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b, ([a, b]) => ({ inputs: a.requiresGrad || b.requiresGrad ? [1] : [], outputs: b.requiresGrad ? [0] : [] }), (dy, a, b, y) => [
  a.requiresGrad ? div(dy, b) : null,
  b.requiresGrad ? neg(div(mul(dy, y), b)) : null,
]);
/** a^b; the gradient for b uses log(a), so it is only finite for a > 0. */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b, ([, b]) => ({ inputs: [0, 1], outputs: b.requiresGrad ? [0] : [] }), (dy, a, b, y) => [
  a.requiresGrad ? mul(dy, mul(b, pow(a, sub(b, 1)))) : null,
  b.requiresGrad ? mul(dy, mul(y, log(a))) : null,
]);
/** Where a == b the gradient is split evenly, as in PyTorch. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b, { inputs: [0, 1] }, (dy, a, b) => {
  const wa = add(greater(a, b), mul(equal(a, b), 0.5));
  return [mul(dy, wa), mul(dy, sub(1, wa))];
});
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b, { inputs: [0, 1] }, (dy, a, b) => {
  const wa = add(less(a, b), mul(equal(a, b), 0.5));
  return [mul(dy, wa), mul(dy, sub(1, wa))];
});

// --- comparisons: 0/1 in the inputs' dtype, no gradient ---
const compare = (op: CompareOp) => (a: TensorLike, b: TensorLike): Tensor => {
  const [x, y] = pair(a, b);
  return runOp(op, [x, y], {});
};
export const greater = compare('greater');
export const greaterEqual = compare('greaterEqual');
export const less = compare('less');
export const lessEqual = compare('lessEqual');
export const equal = compare('equal');
export const notEqual = compare('notEqual');

/** cond ? a : b elementwise, with broadcasting; cond is nonzero for true, of any dtype. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = pair(a, b);
  return runOp('where', [cond, x, y], {}, (dy, { inputs: [c, ia, ib] }) => {
    const zero = scalarLike(0, dy);
    return [
      null,
      ia.requiresGrad ? sumToShape(where(c, dy, zero), ia.shape) : null,
      ib.requiresGrad ? sumToShape(where(c, zero, dy), ib.shape) : null,
    ];
  }, { inputs: [0] });
}

/** x where mask is zero, value where it is not (masked_fill). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}

/**
 * cap·tanh(x/cap): soft-capping (Gemma-2's attention and final-logit soft-capping). cap must be a
 * finite number > 0. For the whole sequence's log-probs, tokenLogprobs's `softcap` option caps
 * inside the kernel instead (no capped copy of the logits); this is for the few logits of a
 * generation step. Gradient through tanh's: dy·(1 − tanh²(x/cap)).
 */
export function softcap(x: Tensor, cap: number): Tensor {
  if (!(Number.isFinite(cap) && cap > 0)) throw new Error(`softcap: cap must be a finite number > 0, got ${cap}`);
  return mul(tanh(div(x, cap)), cap);
}

/**
 * A copy in another dtype; float → int truncates toward zero; → bfloat16 rounds to nearest even.
 * Gradients pass through casts between float32 and float64.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  if (dtype === 'bfloat16') return toBfloat16(x);
  if (x.dtype === 'bfloat16') return dtype === 'int32' ? cast(fromBfloat16(x), 'int32') : fromBfloat16(x, dtype);
  return runOp('cast', [x], { dtype }, dtype === 'int32' || x.dtype === 'int32' ? undefined : (dy) => [cast(dy, x.dtype)], SAVES_NOTHING);
}
