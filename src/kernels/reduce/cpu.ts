// CPU reference for reductions along one axis. The input is seen as [outer, len, inner]; sums
// accumulate in float64 (JS numbers) whatever the dtype.
import { registerKernel } from '../../autograd/kernel.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type ReduceAttrs, type ReduceOp, argmaxOf, reducedShape, reduceLayout } from './contract.js';

const INIT: Record<ReduceOp, number> = { sum: 0, max: -Infinity, min: Infinity };
const STEP: Record<ReduceOp, (acc: number, v: number) => number> = {
  sum: (a, v) => a + v,
  max: (a, v) => (v > a || Number.isNaN(v) ? v : a),
  min: (a, v) => (v < a || Number.isNaN(v) ? v : a),
};

export function registerReduceCpu(): void {
  registerKernel('argmax', 'cpu', (device, [x]) => {
    const len = x.shape.at(-1) ?? 1, rows = x.shape.length === 0 ? 1 : x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const o = device.alloc('int32', rows);
    const src = cpuArray(x.storage), dst = cpuArray(o);
    for (let r = 0; r < rows; r++) dst[r] = argmaxOf(src, r * len, len);
    return [{ storage: o, shape: x.shape.slice(0, -1), dtype: 'int32' }];
  });
  for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
    registerKernel<ReduceAttrs>(op, 'cpu', (device, [x], { axis }) => {
      const { outer, len, inner } = reduceLayout(x.shape, axis);
      if (len === 0 && op !== 'sum') throw new Error(`${op} over an empty axis ${axis} of shape [${x.shape}]`);
      const shape = reducedShape(x.shape, axis);
      const o = device.alloc(x.dtype, outer * inner);
      const src = cpuArray(x.storage), dst = cpuArray(o);
      const step = STEP[op];
      for (let a = 0; a < outer; a++) {
        for (let c = 0; c < inner; c++) {
          let acc = INIT[op];
          for (let k = 0; k < len; k++) acc = step(acc, src[(a * len + k) * inner + c]);
          dst[a * inner + c] = acc;
        }
      }
      return [{ storage: o, shape, dtype: x.dtype }];
    });
  }
}
