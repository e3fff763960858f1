// NF4 as ops (see contract.ts). A quantized weight is two tensors, the packed codes and the block
// maxima, plus the weight's shape: an Nf4Weight. It takes no gradient.
import type { Tensor } from '../../autograd/tensor.js';
import type { Shape } from '../../autograd/shape.js';
import { runOpMulti, runOp, recordNode } from '../../autograd/op.js';
import { noGrad, tidy } from '../../autograd/scope.js';
import { matmul } from '../matmul/op.js';

export interface Nf4Attrs {
  shape: Shape;
  dtype: 'float32' | 'float64';
}

export interface Nf4Weight {
  /** int32 [⌈n/8⌉]: 8 codes per word, low nibble first. */
  codes: Tensor;
  /** float32 [⌈n/64⌉]: each block's absolute maximum. */
  absmax: Tensor;
  shape: Shape;
}

/** Quantizes a float tensor to NF4 (blocks of 64 in row-major order). */
export function quantizeNf4(w: Tensor): Nf4Weight {
  if (w.dtype !== 'float32' && w.dtype !== 'float64') throw new Error(`quantizeNf4: w must be float32 or float64, got ${w.dtype}`);
  const [codes, absmax] = noGrad(() => runOpMulti('quantizeNf4', [w], {}));
  return { codes, absmax, shape: [...w.shape] };
}

/** The float values an NF4 weight stands for: level[code] · absmax of its block. */
export function dequantizeNf4(q: Nf4Weight, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  return runOp<Nf4Attrs>('dequantizeNf4', [q.codes, q.absmax], { shape: q.shape, dtype });
}

/**
 * x @ W (or x @ Wᵀ with transposeB) for a 2-D weight W held in NF4 (QLoRA's frozen base): W is
 * dequantized for the product and freed at once; the graph saves the codes and maxima, and backward
 * dequantizes again for dx = dy·op(W)ᵀ. W takes no gradient.
 */
export function matmulNf4Weight(x: Tensor, q: Nf4Weight, opts: { transposeB?: boolean } = {}): Tensor {
  if (q.shape.length !== 2) throw new Error(`matmulNf4Weight: the weight must be 2-D, got [${q.shape}]`);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new Error(`matmulNf4Weight: x must be float32 or float64, got ${x.dtype}`);
  const transposeB = opts.transposeB ?? false;
  const dtype = x.dtype;
  const y = noGrad(() => tidy(() => matmul(x, dequantizeNf4(q, dtype), { transposeB })));
  recordNode('matmulNf4Weight', [x, q.codes, q.absmax], [y], ([dy], { inputs: [, codes, absmax] }) => [
    dy ? tidy(() => matmul(dy, dequantizeNf4({ codes, absmax, shape: q.shape }, dtype), { transposeB: !transposeB })) : null,
    null,
    null,
  ], { inputs: [1, 2] });
  return y;
}
