// dropout(x, p, seed): y = x · keep / (1 − p), where element i is kept when hash(seed, i) ≥ p·2³².
// The mask is a pure function of (seed, i) — a counter-based generator, as Philox is for
// torch.cuda — so it is never stored: backward (dy through the same mask) and a checkpointed
// block's recompute regenerate it, and the CPU and WebGPU devices give the same mask bit for bit.
//
// hash(seed, i) = mix(i ^ mix(seed)), mix = Wellons's "lowbias32" integer hash (two xorshift-
// multiply rounds; every input bit affects every output bit). All arithmetic is mod 2³², as WGSL's
// u32 and JavaScript's Math.imul compute it.
import type { Tensor } from '../../autograd/tensor.js';
import { isFloat } from '../../autograd/dtype.js';

export interface DropoutAttrs {
  /** Probability of zeroing an element, in [0, 1). */
  p: number;
  /** 32-bit seed of the mask. */
  seed: number;
}

/** The 32-bit mixing function (JavaScript side; the WGSL kernel spells out the same steps). */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Elements whose hash is below this are dropped: floor(p · 2³²). */
export function dropThreshold(p: number): number {
  return Math.min(0xffffffff, Math.floor(p * 2 ** 32));
}

export function checkDropout(x: Tensor, p: number, seed: number): void {
  if (!isFloat(x.dtype)) throw new Error(`dropout: x must be a float tensor, got ${x.dtype}`);
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`dropout: seed must be a 32-bit unsigned integer, got ${seed}`);
}
