import { FROM_BITS, TANH_WGSL } from '../wgsl.js';

// The elementwise op set: for each op, a CPU reference (plain JS math) and a WGSL expression,
// written independently so that the test comparing them means something.
export type UnaryOp =
  | 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'square' | 'reciprocal'
  | 'relu' | 'sigmoid' | 'tanh' | 'sin' | 'cos' | 'sign';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
export type CompareOp = 'greater' | 'greaterEqual' | 'less' | 'lessEqual' | 'equal' | 'notEqual';

/** Ops that also run on int32 (the rest need floats). */
export const INT_OPS = new Set<string>(['neg', 'abs', 'square', 'sign', 'relu', 'add', 'sub', 'mul', 'maximum', 'minimum',
  'greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual']);

export const UNARY_CPU: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  relu: (x) => (x > 0 ? x : 0),
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  tanh: Math.tanh,
  sin: Math.sin,
  cos: Math.cos,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
};

export const BINARY_CPU: Record<BinaryOp | CompareOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  greater: (a, b) => +(a > b),
  greaterEqual: (a, b) => +(a >= b),
  less: (a, b) => +(a < b),
  lessEqual: (a, b) => +(a <= b),
  equal: (a, b) => +(a === b),
  notEqual: (a, b) => +(a !== b),
};

/** WGSL for each unary op on a value `x` of type T (f32 or i32). Helpers come from WGSL_HELPERS. */
export const UNARY_WGSL: Record<UnaryOp, string> = {
  neg: '-x',
  abs: 'abs(x)',
  exp: 'exp(x)',
  log: 'log(x)',
  sqrt: 'sqrt(x)',
  rsqrt: 'inverseSqrt(x)',
  square: 'x * x',
  reciprocal: '1.0 / x',
  relu: 'max(x, T(0))',
  sigmoid: 'stable_sigmoid(x)',
  tanh: 'stable_tanh(x)',
  sin: 'sin(x)',
  cos: 'cos(x)',
  sign: 'sign(x)',
};

/** WGSL for each binary op on values `a`, `b` of type T. Comparisons yield T(0) or T(1). */
export const BINARY_WGSL: Record<BinaryOp | CompareOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'signed_pow(a, b)',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
  greater: 'select(T(0), T(1), a > b)',
  greaterEqual: 'select(T(0), T(1), a >= b)',
  less: 'select(T(0), T(1), a < b)',
  lessEqual: 'select(T(0), T(1), a <= b)',
  equal: 'select(T(0), T(1), a == b)',
  notEqual: 'select(T(0), T(1), a != b)',
};

/**
 * Float helpers. WGSL's tanh and the naive sigmoid overflow exp() for |x| in the thousands, and
 * pow() is undefined for negative bases, so these spell out the stable forms (tanh: TANH_WGSL).
 */
export const WGSL_HELPERS = /* wgsl */ `
${FROM_BITS}
fn stable_sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
${TANH_WGSL}
fn signed_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  let p = pow(abs(a), b);
  if (a >= 0.0) { return p; }
  if (fract(b) != 0.0) { return from_bits(0x7fc00000u); }
  return select(p, -p, fract(b * 0.5) != 0.0);
}
`;
