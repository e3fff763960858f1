// bfloat16: the top 16 bits of a float32 (8 exponent bits, 7 mantissa bits). relpo stores frozen
// weights in it (a LoRA base at half the memory) and computes in float32: a bfloat16 tensor is
// storage only. Two kernels convert (src/kernels/bfloat16): toBfloat16 rounds float32 to the nearest bfloat16, ties to
// even, as torch's .to(torch.bfloat16) (NaN stays a quiet NaN, ±Inf and overflow to ±Inf);
// fromBfloat16 widens exactly (the 16 bits become the high half of a float32).
//
// Memory: two elements per 32-bit word, element i in the low half of word ⌊i/2⌋ when i is even,
// the high half when odd (little-endian, as a Uint16Array over the same bytes).
//
// The format lives here, with the dtypes, because tensor() encodes host values with it; the
// kernels' CPU references use the same two functions.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bfloat16 bits of a float32 value (round to nearest, ties to even). */
export function bfloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x0040) & 0xffff; // NaN: keep the sign, quiet it
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The float32 value of bfloat16 bits. */
export function bfloat16Value(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}
