// NF4, QLoRA's 4-bit NormalFloat (Dettmers et al., 2023): a weight is cut into blocks of 64
// values; each block keeps its absolute maximum (float32) and each value the index of the nearest
// of 16 levels, the quantiles of a standard normal scaled to [−1, 1] (with an exact 0), times the
// block's absmax. Dequantized: level[index] · absmax. 4.5 bits per value instead of 32: a frozen
// LoRA base (QLoRA) at about a seventh of float32's memory.
//
// Memory: codes are packed 8 per 32-bit word, value i in bits 4·(i mod 8) … 4·(i mod 8) + 3 of word
// ⌊i/8⌋ (low nibble first); absmax[b] covers values 64·b … 64·b + 63. A block's absmax of 0 (all
// zeros) stores every value as the level 0.

/** The 16 NF4 levels, as bitsandbytes' kernels hold them (QLoRA, Appendix E). */
export const NF4_LEVELS: readonly number[] = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
].map(Math.fround);

export const NF4_BLOCK = 64;
/** Index of the level 0. */
export const NF4_ZERO = 7;

export function nf4Words(n: number): number {
  return Math.ceil(n / 8);
}

export function nf4Blocks(n: number): number {
  return Math.ceil(n / NF4_BLOCK);
}

/** The dequantized value i of packed codes and block maxima: fround(level[code] · absmax of its block). */
export function nf4Value(codes: ArrayLike<number>, absmax: ArrayLike<number>, i: number): number {
  return Math.fround(NF4_LEVELS[(codes[i >> 3] >>> (4 * (i & 7))) & 15] * absmax[Math.floor(i / NF4_BLOCK)]);
}

/**
 * The index of the level whose dequantized value, fround(level · absmax), is nearest to x; on an
 * exact tie the lower level. Only correctly rounded float32 products and differences, so WGSL (whose
 * division is not correctly rounded) and the CPU agree bit for bit.
 */
export function nearestLevel(x: number, absmax: number): number {
  let best = 0, bestDist = Infinity;
  for (let k = 0; k < 16; k++) {
    const d = Math.abs(Math.fround(x - Math.fround(NF4_LEVELS[k] * absmax)));
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  return best;
}
