// Differentiable matmul with torch.matmul semantics. Forward: one kernel launch. Backward: two more
// matmuls with the transpose flags flipped (no transposes materialised), and for an operand that
// was one matrix shared by the whole batch, a sum over the batch.
import { Tensor } from '../../autograd/tensor.js';
import { runOp, runOpMulti, recordNode, SAVES_EACH_OTHER } from '../../autograd/op.js';
import { isGradEnabled, noGrad, tidy } from '../../autograd/scope.js';
import { fromBfloat16 } from '../bfloat16/op.js';
import { type Shape, sameShape, sizeOf } from '../../autograd/shape.js';
import { reshape, broadcastTo } from '../copy/op.js';
import { sum } from '../reduce/op.js';
import { type GatedMatmulAttrs, type GroupMatmulAttrs, type MatmulAttrs, type StoredMatmulAttrs, planMatmul } from './contract.js';
import { type GatedActivation, checkGatedActivation } from '../activation/contract.js';
import { type Nf4Weight, dequantizeNf4 } from '../nf4/op.js';
import { SKINNY_MAX_ROWS } from './skinny.js';

/**
 * a @ b, as torch.matmul: a [..., M, K] (or [..., K, M] with transposeA), b [..., K, N] (or
 * [..., N, K] with transposeB); batch dimensions broadcast; a 1-D a is a row vector and a 1-D b a
 * column vector, their unit dimension dropped from the result (transpose flags do not apply to
 * them). `version` picks a rung of the WebGPU kernel ladder (benchmarks; by default chosen by shape).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulAttrs = {}): Tensor {
  if (a.dtype !== b.dtype) throw new Error(`matmul: dtype mismatch (${a.dtype} and ${b.dtype}); cast one of them`);
  if (a.dtype === 'int32') throw new Error('matmul: int32 operands are not supported; cast to float32 first');
  const p = planMatmul(a.shape, b.shape, opts);
  let x = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
  let y = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
  if (p.broadcastA) x = broadcastTo(x, p.aShape);
  if (p.broadcastB) y = broadcastTo(y, p.bShape);
  if (p.foldBatchIntoM) x = reshape(x, [sizeOf(x.shape.slice(0, -1)), p.K]);
  const out = matmulKernel(x, y, p.transposeA, p.transposeB, opts.version);
  return sameShape(out.shape, p.outShape) ? out : reshape(out, p.outShape);
}

/**
 * The kernel as a differentiable op: a and b of rank ≥ 2, batch counts equal or 1 (see
 * matmulLayout). With Y = op(A)·op(B):
 *   dA = dY·op(B)ᵀ        stored transposed when transposeA: dAᵀ = op(B)·dYᵀ
 *   dB = op(A)ᵀ·dY        stored transposed when transposeB: dBᵀ = dYᵀ·op(A)
 * and each of these is one matmul of the stored operands with the right flags.
 */
export function matmulKernel(a: Tensor, b: Tensor, transposeA = false, transposeB = false, version?: number): Tensor {
  const attrs: MatmulAttrs = { transposeA, transposeB, ...(version === undefined ? {} : { version }) };
  // Each gradient is made in a tidy() so the full-batch product and views behind a summed gradient
  // are freed at once, even when backward() runs outside any tidy.
  return runOp<MatmulAttrs>('matmul', [a, b], attrs, (dy, { inputs: [ia, ib] }) => [
    ia.requiresGrad
      ? tidy(() => toOperandShape(transposeA ? matmulKernel(ib, dy, transposeB, true) : matmulKernel(dy, ib, false, !transposeB), ia.shape))
      : null,
    ib.requiresGrad
      ? tidy(() => toOperandShape(transposeB ? matmulKernel(dy, ia, true, transposeA) : matmulKernel(ia, dy, !transposeA, false), ib.shape))
      : null,
  ], SAVES_EACH_OTHER);
}

/**
 * A gradient with the full batch, brought to an operand's shape: the same elements (reshape), or,
 * for an operand that was one matrix reused across the batch, summed over the batch.
 */
function toOperandShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  if (sizeOf(g.shape) !== sizeOf(shape)) {
    const [r, c] = g.shape.slice(-2);
    g = sum(reshape(g, [sizeOf(g.shape) / (r * c || 1), r, c]), 0);
  }
  return reshape(g, shape);
}

/**
 * x @ W (or x @ Wᵀ with transposeB) for a frozen 2-D weight W of `shape` held in a stored form
 * (`parts`: a bfloat16 tensor, or NF4's codes and maxima). With at most SKINNY_MAX_ROWS rows in x (a
 * decoding step), the 'matmulStored' kernel reads W as stored; with more, `widen` turns W into
 * float values for a tiled product and the wide copy is freed at once (the products are then
 * compute-bound and the widening a small extra pass). The graph saves the parts (never a wide
 * copy), and backward does the same for dx = dy·op(W)ᵀ. The parts take no gradient.
 */
export function matmulStoredWeight(name: string, x: Tensor, parts: Tensor[], shape: Shape, format: StoredMatmulAttrs['format'], widen: (parts: Tensor[], dtype: 'float32' | 'float64') => Tensor, transposeB = false): Tensor {
  if (shape.length !== 2) throw new Error(`${name}: the weight must be 2-D, got [${shape}]`);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new Error(`${name}: x must be float32 or float64, got ${x.dtype}`);
  const dtype = x.dtype;
  const product = (a: Tensor, stored: Tensor[], tB: boolean) => tidy(() => {
    const K = a.shape[a.rank - 1] ?? 0, rows = sizeOf(a.shape) / (K || 1);
    if (a.rank === 0 || rows > SKINNY_MAX_ROWS || K === 0) return matmul(a, widen(stored, dtype), { transposeB: tB });
    const N = tB ? shape[0] : shape[1];
    const y = runOp<StoredMatmulAttrs>('matmulStored', [reshape(a, [rows, K]), ...stored], { format, shape, transposeB: tB });
    return reshape(y, [...a.shape.slice(0, -1), N]);
  });
  const y = noGrad(() => product(x, parts, transposeB));
  recordNode(name, [x, ...parts], [y], ([dy], { inputs: [, ...kept] }) => [
    dy ? product(dy, kept, !transposeB) : null,
    ...parts.map(() => null),
  ], { inputs: parts.map((_, i) => i + 1) });
  return y;
}

/** matmulStoredWeight for a weight stored in bfloat16 (src/kernels/bfloat16): half of float32. */
export function matmulBfloat16Weight(x: Tensor, w: Tensor, opts: { transposeB?: boolean } = {}): Tensor {
  if (w.dtype !== 'bfloat16') throw new Error(`matmulBfloat16Weight: w must be bfloat16, got ${w.dtype}`);
  return matmulStoredWeight('matmulBfloat16Weight', x, [w], w.shape, 'bfloat16', ([b], dtype) => fromBfloat16(b, dtype), opts.transposeB);
}

/** matmulStoredWeight for a weight held in NF4 (QLoRA's frozen base): the graph saves codes and maxima. */
export function matmulNf4Weight(x: Tensor, q: Nf4Weight, opts: { transposeB?: boolean } = {}): Tensor {
  return matmulStoredWeight('matmulNf4Weight', x, [q.codes, q.absmax], q.shape, 'nf4', ([codes, absmax], dtype) => dequantizeNf4({ codes, absmax, shape: q.shape }, dtype), opts.transposeB);
}

/**
 * x·Wᵢᵀ for several weights [Nᵢ, K] sharing x and held alike (all float32, all bfloat16 or all NF4):
 * the results of the separate products, in one launch on WebGPU (a decoding step's q/k/v or
 * gate/up projections). No gradient: it refuses to run where one would be recorded.
 */
export function matmulGroup(x: Tensor, weights: (Tensor | Nf4Weight)[]): Tensor[] {
  const { inputs, attrs } = groupInputs('matmulGroup', x, weights);
  const ys = runOpMulti<GroupMatmulAttrs>('matmulGroup', inputs, attrs);
  return ys.map((y, i) => reshape(y, [...x.shape.slice(0, -1), attrs.shapes[i][0]]));
}

/**
 * act(x·Gᵀ) ⊙ x·Uᵀ for a gate and an up weight [N, K] held alike (a gated MLP's first half; act
 * 'silu': SwiGLU, LLaMA's; 'gelu_tanh': GeGLU, Gemma-2's): one launch on WebGPU (the skinny kernel
 * computing both products' sums and the activation kernel's expression on them), the values of
 * matmulGroup then swiglu or geglu, bit for bit on lavapipe and the CPU. For few rows (at most
 * SKINNY_MAX_ROWS) with K a multiple of 8 (32 for NF4): a decoding step. No gradient.
 */
export function matmulGated(x: Tensor, gate: Tensor | Nf4Weight, up: Tensor | Nf4Weight, activation: GatedActivation): Tensor {
  checkGatedActivation('matmulGated', activation);
  const { inputs, attrs } = groupInputs('matmulGated', x, [gate, up]);
  const [[N], [Nu]] = attrs.shapes, K = x.shape[x.rank - 1], M = sizeOf(x.shape.slice(0, -1));
  if (N !== Nu) throw new Error(`matmulGated: gate [${attrs.shapes[0]}] and up [${attrs.shapes[1]}] must have one shape`);
  if (M > SKINNY_MAX_ROWS || K % (attrs.format === 'nf4' ? 32 : 8) !== 0) {
    throw new Error(`matmulGated: x [${x.shape}] must have at most ${SKINNY_MAX_ROWS} rows and K a multiple of ${attrs.format === 'nf4' ? 32 : 8} (a decoding step's shape); use gatedActivation(...matmulGroup(x, [gate, up]), activation)`);
  }
  return reshape(runOp<GatedMatmulAttrs>('matmulGated', inputs, { ...attrs, activation }), [...x.shape.slice(0, -1), N]);
}

/** matmulGated with SwiGLU: silu(x·Gᵀ) ⊙ x·Uᵀ, the values of swiglu(...matmulGroup(x, [gate, up])). */
export function matmulSwiglu(x: Tensor, gate: Tensor | Nf4Weight, up: Tensor | Nf4Weight): Tensor {
  return matmulGated(x, gate, up, 'silu');
}

/** A group product's kernel inputs (x as [M, K], each weight's parts) and attributes; refuses a graph. */
function groupInputs(op: string, x: Tensor, weights: (Tensor | Nf4Weight)[]): { inputs: Tensor[]; attrs: GroupMatmulAttrs } {
  const format: GroupMatmulAttrs['format'] = weights.every((w) => 'codes' in w) ? 'nf4'
    : weights.every((w) => !('codes' in w) && w.dtype === 'bfloat16') ? 'bfloat16'
    : weights.every((w) => !('codes' in w) && w.dtype === x.dtype) ? 'float32'
    : (() => { throw new Error(`${op}: the weights must all be float (of x's dtype), all bfloat16 or all NF4`); })();
  const parts = weights.flatMap((w) => ('codes' in w ? [w.codes, w.absmax] : [w]));
  if (isGradEnabled() && [x, ...parts].some((t) => t.requiresGrad)) throw new Error(`${op} has no gradient; use matmul per weight, or call it under noGrad`);
  const K = x.shape[x.rank - 1];
  return { inputs: [reshape(x, [sizeOf(x.shape.slice(0, -1)), K]), ...parts], attrs: { format, shapes: weights.map((w) => [...w.shape]) } };
}
