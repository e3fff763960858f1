// Strided copies: the one kernel behind transpose/permute, slice, broadcastTo and concat.
// An input is read at offset + Σ idx_d · srcStrides[d] over `shape`, and written at
// dstOffset + Σ idx_d · dstStrides[d] (contiguous when dstStrides is omitted).
import type { Shape } from '../../autograd/shape.js';

export interface StridedAttrs {
  /** The shape iterated over (and the output shape for 'strided'). */
  shape: Shape;
  offset: number;
  strides: number[];
}

export interface PadRegionAttrs {
  /** Shape of the zero-filled output; the input lands at `offset` with `strides` in it. */
  outShape: Shape;
  offset: number;
  strides: number[];
}

export interface ConcatAttrs {
  axis: number;
}
