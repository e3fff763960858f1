// fill: a new tensor of `shape` with every element `value` (no inputs).
import type { DType } from '../../autograd/dtype.js';
import type { Shape } from '../../autograd/shape.js';

export interface FillAttrs {
  shape: Shape;
  dtype: DType;
  value: number;
}
