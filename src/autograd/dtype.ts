// Element types. float64 exists for the CPU device only: it is what gradcheck runs in. bfloat16 is
// storage only (frozen weights at half the memory, src/kernels/bfloat16): no op but the conversions
// and the frozen-weight matmul reads it, and it takes no gradient. Its elements are held as their
// 16-bit patterns (Uint16Array on the host).
export type DType = 'float32' | 'float64' | 'int32' | 'bfloat16';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint16Array;

export function allocArray(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(length);
    case 'float64': return new Float64Array(length);
    case 'int32': return new Int32Array(length);
    case 'bfloat16': return new Uint16Array(length);
  }
}

export function toTypedArray(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = allocArray(dtype, values.length);
  out.set(values as ArrayLike<number>);
  return out;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : dtype === 'bfloat16' ? 2 : 4;
}

/** Float types that compute and take gradients (bfloat16 is storage, not one of them). */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}
