// The element types a safetensors header may name, and their sizes. The list follows the
// safetensors crate (safetensors/src/tensor.rs, enum Dtype) so that any valid file's header can be
// read and checked, even where relpo cannot load the tensor's values.

/** Bits per element of every dtype the format defines (F4 and F6 pack several per byte). */
export const SAFETENSORS_DTYPE_BITS = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const;

export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPE_BITS;

export function isSafetensorsDType(s: unknown): s is SafetensorsDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_BITS, s);
}

/** The dtypes loadSafetensors converts; every other one is refused by name. */
export const LOADABLE_DTYPES: readonly SafetensorsDType[] = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32'];

/**
 * Bytes that `numel` elements of `dtype` take, or null when they do not fill whole bytes (the
 * crate refuses such tensors too).
 */
export function byteSize(dtype: SafetensorsDType, numel: number): number | null {
  const bits = numel * SAFETENSORS_DTYPE_BITS[dtype];
  return bits % 8 === 0 ? bits / 8 : null;
}
