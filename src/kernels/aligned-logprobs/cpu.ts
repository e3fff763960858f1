// CPU reference for aligned token log-probs, in float64 (JS numbers) whatever the dtype: two plain
// passes per row (the max, then both sums), the oracle the WGSL kernel is checked against.
import { registerKernel } from '../../autograd/kernel.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { badTarget, logprobsLayout } from '../logprobs/contract.js';
import type { AlignedLogprobsAttrs } from './contract.js';

const capped = (x: number, cap: number): number => (cap ? cap * Math.tanh(x / cap) : x);

export function registerAlignedLogprobsCpu(): void {
  registerKernel<AlignedLogprobsAttrs>('alignedTokenLogprobs', 'cpu', (device, inputs, { masked, softcap = 0 }) => {
    const [logits, targets] = inputs;
    const mask = masked ? inputs[2] : undefined;
    const { rows, vocab, outShape } = logprobsLayout(logits, targets, mask);
    const o = device.alloc(logits.dtype, rows);
    const x = cpuArray(logits.storage), ids = cpuArray(targets.storage), w = mask && cpuArray(mask.storage);
    const out = cpuArray(o);
    for (let r = 0; r < rows; r++) {
      const weight = w ? w[r] : 1;
      if (weight === 0) continue;
      const t = ids[r];
      if (t < 0 || t >= vocab) throw badTarget(r, t, vocab, 'alignedTokenLogprobs');
      const base = r * vocab;
      let m = -Infinity;
      for (let v = 0; v < vocab; v++) {
        const xv = capped(x[base + v], softcap);
        if (xv > m || Number.isNaN(xv)) m = xv;
      }
      let s1 = 0, s2 = 0;
      for (let v = 0; v < vocab; v++) {
        const e = Math.exp(capped(x[base + v], softcap) - m);
        s1 += e;
        s2 += e * e;
      }
      const l1 = Math.log(s1), l2 = Math.log(s2);
      out[r] = Number.isFinite(m + l1 + l2) ? weight * (capped(x[base + t], softcap) - m + l1 - l2) : NaN;
    }
    return [{ storage: o, shape: outShape, dtype: logits.dtype }];
  });
}
