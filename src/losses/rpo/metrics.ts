// Where RPO puts its weight: on the diagonal (paired data: each answer's own pair) and on cells
// whose two rows share a prompt (from promptIds, paired or not). Mean cell weight over those cells.
import type { Tensor } from '../../autograd/tensor.js';
import type { PreferenceBatch } from '../types.js';
import { div, mul, noGrad, sum, tensor, tidy } from '../ops.js';

export function weightMetrics(batch: PreferenceBatch, w: Tensor): Record<string, Tensor> {
  return tidy(() => noGrad(() => {
    const out: Record<string, Tensor> = {};
    const M = w.shape[0], N = w.shape[1];
    const opts = { dtype: w.dtype, device: w.device };
    const maskedMean = (mask: number[], hits: number) => div(sum(mul(w, tensor(mask, [M, N], opts))), hits);
    if (batch.paired) {
      const eye = new Array<number>(M * N).fill(0);
      for (let i = 0; i < M; i++) eye[i * N + i] = 1;
      out['weights/diagonal'] = maskedMean(eye, M);
    }
    const a = batch.chosen.promptIds, b = batch.rejected.promptIds;
    if (a && b) {
      const same = new Array<number>(M * N);
      let hits = 0;
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) hits += same[i * N + j] = a[i] === b[j] ? 1 : 0;
      if (hits > 0) out['weights/same_prompt'] = maskedMean(same, hits);
    }
    return out;
  }));
}
