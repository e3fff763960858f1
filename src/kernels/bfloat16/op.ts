// The bfloat16 conversions as ops. bfloat16 tensors are storage (frozen weights): they take no
// gradient, so these ops record none.
import type { Tensor } from '../../autograd/tensor.js';
import { runOp } from '../../autograd/op.js';

/** float32 (or float64 on the CPU) → bfloat16, rounding to nearest, ties to even (torch's .to(torch.bfloat16)). */
export function toBfloat16(x: Tensor): Tensor {
  if (x.dtype === 'bfloat16') return x;
  if (x.dtype === 'int32') throw new Error('toBfloat16: x must be a float tensor, got int32');
  return runOp('toBfloat16', [x], {});
}

/** bfloat16 → float32 (or float64 on the CPU), exactly. */
export function fromBfloat16(x: Tensor, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  if (x.dtype !== 'bfloat16') throw new Error(`fromBfloat16: x must be bfloat16, got ${x.dtype}`);
  return runOp('fromBfloat16', [x], { dtype });
}
