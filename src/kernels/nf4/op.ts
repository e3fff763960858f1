// NF4 as ops (see contract.ts). A quantized weight is two tensors, the packed codes and the block
// maxima, plus the weight's shape: an Nf4Weight. It takes no gradient.
import type { Tensor } from '../../autograd/tensor.js';
import type { Shape } from '../../autograd/shape.js';
import { runOpMulti, runOp } from '../../autograd/op.js';
import { noGrad } from '../../autograd/scope.js';

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
