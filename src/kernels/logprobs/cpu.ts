// CPU reference for token log-probs, in float64 (JS numbers) whatever the dtype: the oracle the WGSL
// kernels are checked against. Two plain passes per row (max, then Σ exp) rather than the online
// form the GPU uses: the reference should be obviously right, not fast. With soft-capping every
// logit x is read through c = cap·tanh(x/cap) (see contract.ts).
import { registerKernel } from '../../autograd/kernel.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type TokenLogprobsAttrs, STATS, badTarget, logprobsLayout } from './contract.js';

/** The logit the softmax sees: cap·tanh(x/cap), or x itself when cap is 0. */
function capped(x: number, cap: number): number {
  return cap ? cap * Math.tanh(x / cap) : x;
}

/** d capped/dx = 1 − tanh²(x/cap), as 4e/(1 + e)² with e = exp(−2|x/cap|) (no cancellation); 1 uncapped. */
function cappedSlope(x: number, cap: number): number {
  if (!cap) return 1;
  const e = Math.exp(-2 * Math.abs(x / cap));
  return (4 * e) / ((1 + e) * (1 + e));
}

export function registerLogprobsCpu(): void {
  registerKernel<TokenLogprobsAttrs>('tokenLogprobs', 'cpu', (device, inputs, { masked, softcap = 0 }) => {
    const [logits, targets] = inputs;
    const mask = masked ? inputs[2] : undefined;
    const { rows, vocab, outShape } = logprobsLayout(logits, targets, mask);
    const o = device.alloc(logits.dtype, STATS.words * rows);
    const x = cpuArray(logits.storage), ids = cpuArray(targets.storage), w = mask && cpuArray(mask.storage);
    const out = cpuArray(o);
    for (let r = 0; r < rows; r++) {
      const weight = w ? w[r] : 1;
      if (weight === 0) continue; // out, m and ℓ stay 0
      const t = ids[r];
      if (t < 0 || t >= vocab) throw badTarget(r, t, vocab);
      const base = r * vocab;
      let m = -Infinity;
      for (let v = 0; v < vocab; v++) {
        const xv = capped(x[base + v], softcap);
        if (xv > m || Number.isNaN(xv)) m = xv;
      }
      let s = 0;
      for (let v = 0; v < vocab; v++) s += Math.exp(capped(x[base + v], softcap) - m);
      const logSum = Math.log(s);
      const finite = Number.isFinite(m + logSum);
      out[r] = finite ? weight * (capped(x[base + t], softcap) - m - logSum) : NaN;
      out[STATS.max * rows + r] = m;
      out[STATS.logSum * rows + r] = finite ? logSum : NaN;
    }
    return [{ storage: o, shape: outShape, dtype: logits.dtype }];
  });

  // inputs: logits, targets, [mask,] out (the forward output, statistics in its storage), dy.
  registerKernel<TokenLogprobsAttrs>('tokenLogprobsGrad', 'cpu', (device, inputs, { masked, softcap = 0 }) => {
    const [logits, targets] = inputs;
    const mask = masked ? inputs[2] : undefined;
    const [saved, dy] = inputs.slice(masked ? 3 : 2);
    const { rows, vocab } = logprobsLayout(logits, targets, mask);
    const g = device.alloc(logits.dtype, rows * vocab);
    const x = cpuArray(logits.storage), ids = cpuArray(targets.storage), w = mask && cpuArray(mask.storage);
    const stats = cpuArray(saved.storage), d = cpuArray(dy.storage), dx = cpuArray(g);
    for (let r = 0; r < rows; r++) {
      const c = d[r] * (w ? w[r] : 1);
      if (c === 0) continue; // masked (or no gradient reaching it): the row stays 0
      const m = stats[STATS.max * rows + r], logSum = stats[STATS.logSum * rows + r], t = ids[r];
      const base = r * vocab;
      for (let v = 0; v < vocab; v++) {
        const xv = x[base + v];
        dx[base + v] = c * ((v === t ? 1 : 0) - Math.exp(capped(xv, softcap) - m - logSum)) * cappedSlope(xv, softcap);
      }
    }
    return [{ storage: g, shape: logits.shape, dtype: logits.dtype }];
  });
}
