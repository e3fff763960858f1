// Helpers shared by the WGSL kernels: types, launch grids, and the per-launch `meta` words.
import type { DType } from '../autograd/dtype.js';

export function wgslType(dtype: DType): 'f32' | 'i32' {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'int32') return 'i32';
  throw new Error(`no WGSL type for ${dtype}`);
}

/** WebGPU caps each grid dimension at 65535 workgroups; larger 1-D launches fold into 2-D. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

export function grid1d(workgroups: number): [number, number] {
  if (workgroups <= MAX_WORKGROUPS_PER_DIM) return [workgroups, 1];
  const y = Math.ceil(workgroups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(workgroups / y), y];
}

/** The flat workgroup index of a launch made with grid1d (use inside `main`). */
export const FLAT_WORKGROUP = 'let wg_flat = wid.y * nwg.x + wid.x;';

/** The builtins every 1-D kernel declares. */
export const BUILTINS_1D = '@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u';

// One float32's bits, reused by every launch (a typed array per launch costs more than packing).
const F32 = new Float32Array(1);
const F32_BITS = new Uint32Array(F32.buffer);

/** Packs u32 words and f32 scalars (as bit patterns, read back with bitcast<f32>). */
export class Meta {
  private words: number[] = [];
  u32(...vs: number[]): this {
    for (const v of vs) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`meta word ${v} is not a u32`);
      this.words.push(v);
    }
    return this;
  }
  i32(...vs: number[]): this {
    for (const v of vs) this.words.push(v >>> 0);
    return this;
  }
  f32(...vs: number[]): this {
    for (const v of vs) {
      F32[0] = v;
      this.words.push(F32_BITS[0]);
    }
    return this;
  }
  get length(): number {
    return this.words.length;
  }
  build(): Uint32Array {
    return new Uint32Array(this.words.length ? this.words : [0]);
  }
}

/**
 * WGSL rejects NaN and ±Inf in constant expressions, so non-finite values are built at run time
 * through a function parameter (user functions are never constant-evaluated). Kernels that use
 * wgslLiteral include this.
 */
export const FROM_BITS = 'fn from_bits(b: u32) -> f32 { return bitcast<f32>(b); }';

/**
 * tanh in float32, finite and accurate on the whole line (WGSL's tanh may overflow exp() for |x| in
 * the thousands). Below 0.625, Cephes' tanhf polynomial x + x³·P(x²), which keeps relative
 * accuracy near 0 where (1 − e)/(1 + e) cancels; above, (1 − e)/(1 + e) with e = exp(−2|x|) ≤ 0.29,
 * so nothing cancels and nothing overflows (±Inf gives ±1, NaN stays NaN).
 */
export const TANH_WGSL = /* wgsl */ `
fn stable_tanh(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.625) {
    let z = x * x;
    let p = (((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z + 1.33314422036e-1) * z - 3.33332819422e-1;
    return fma(x * z, p, x);
  }
  let e = exp(-2.0 * a);
  return sign(x) * ((1.0 - e) / (1.0 + e));
}`;

/** A WGSL literal for a value of the given type (exact: the f32 bit pattern). */
export function wgslLiteral(value: number, type: 'f32' | 'i32'): string {
  if (type === 'i32') return `${value | 0}i`;
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  return Number.isFinite(value) ? `bitcast<f32>(${bits}u)` : `from_bits(${bits}u)`;
}

/**
 * Caches a shader generator by its arguments. A launch looks its pipeline up by the WGSL source, so
 * without this every launch would rebuild a source of several KiB (60 µs for a vec4 matmul on a
 * 2-core VM, as long as the 1024³ product itself takes on an H200) and hash it anew; with it, the
 * same string object comes back and the lookup is by a hash V8 keeps on the string. Arguments are
 * keyed by JSON, so they must be plain data (numbers, strings, booleans, arrays, plain objects).
 */
export function memoShader<A extends unknown[]>(gen: (...args: A) => string): (...args: A) => string {
  const cache = new Map<string, string>();
  return (...args: A) => {
    const key = JSON.stringify(args);
    let code = cache.get(key);
    if (code === undefined) {
      code = gen(...args);
      cache.set(key, code);
    }
    return code;
  };
}
