// CPU reference for matmul: the plain triple loop, accumulated in JS numbers (float64) whatever the
// dtype, so it is the oracle for the float32 WebGPU kernels and exact enough for gradcheck.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Device } from '../../autograd/device.js';
import type { TypedArray } from '../../autograd/dtype.js';
import { cpuArray } from '../../device/cpu/cpu-device.js';
import { type GatedMatmulAttrs, type GroupMatmulAttrs, type MatmulAttrs, type MatmulLayout, type StoredMatmulAttrs, groupMatmulDims, matmulLayout, storedMatmulLayout } from './contract.js';
import { bfloat16Value } from '../../autograd/bfloat16.js';
import { nf4Value } from '../nf4/contract.js';
import { geluTanh, sigmoidPair } from '../activation/cpu.js';

/** C[b] = op(A[b]) · op(B[b]) on host arrays, with the layout's strides. */
export function matmulReference(A: ArrayLike<number>, B: ArrayLike<number>, C: TypedArray | number[], l: MatmulLayout, transposeA: boolean, transposeB: boolean): void {
  const { batch, M, N, K } = l;
  // Element (m, k) of op(A) sits at m·am + k·ak; element (k, n) of op(B) at k·bk + n·bn.
  const [am, ak] = transposeA ? [1, M] : [K, 1];
  const [bk, bn] = transposeB ? [1, K] : [N, 1];
  for (let b = 0; b < batch; b++) {
    const a0 = b * l.strideA, b0 = b * l.strideB, c0 = b * l.strideC;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += A[a0 + m * am + k * ak] * B[b0 + k * bk + n * bn];
        C[c0 + m * N + n] = acc;
      }
    }
  }
}

export function checkMatmulDtypes(a: TensorInfo, b: TensorInfo): void {
  if (a.dtype !== b.dtype) throw new Error(`matmul: dtype mismatch (${a.dtype} and ${b.dtype}); cast one of them`);
  if (a.dtype === 'int32') throw new Error('matmul: int32 operands are not supported; cast to float32 first');
}

export function registerMatmulCpu(): void {
  registerKernel<MatmulAttrs>('matmul', 'cpu', (device: Device, [a, b], { transposeA = false, transposeB = false }) => {
    checkMatmulDtypes(a, b);
    const l = matmulLayout(a.shape, b.shape, transposeA, transposeB);
    const o = device.alloc(a.dtype, l.batch * l.M * l.N);
    matmulReference(cpuArray(a.storage), cpuArray(b.storage), cpuArray(o), l, transposeA, transposeB);
    return [{ storage: o, shape: l.outShape, dtype: a.dtype }];
  });
}

/** The float values of a stored weight, as its widening kernel (fromBfloat16, dequantizeNf4) gives them. */
function widenStored(parts: TensorInfo[], { format, shape }: StoredMatmulAttrs): Float32Array {
  const n = shape[0] * shape[1];
  const w = new Float32Array(n);
  if (format === 'bfloat16') {
    const bits = cpuArray(parts[0].storage); // one element per entry on the CPU device
    for (let i = 0; i < n; i++) w[i] = bfloat16Value(bits[i]);
  } else {
    const codes = cpuArray(parts[0].storage), absmax = cpuArray(parts[1].storage);
    for (let i = 0; i < n; i++) w[i] = nf4Value(codes, absmax, i);
  }
  return w;
}

/** Each weight's parts among a group product's inputs (NF4: two tensors a weight). */
export function groupParts<T>(format: GroupMatmulAttrs['format'], parts: T[]): T[][] {
  const per = format === 'nf4' ? 2 : 1;
  return Array.from({ length: parts.length / per }, (_, i) => parts.slice(per * i, per * (i + 1)));
}

export function registerStoredMatmulCpu(): void {
  // The reference: each product alone, as the matmul or stored-weight kernel computes it.
  const group = (device: Device, [x, ...parts]: TensorInfo[], { format, shapes }: GroupMatmulAttrs): TensorInfo[] => {
    const { M, K, Ns } = groupMatmulDims(x.shape, shapes);
    return groupParts(format, parts).map((w, i) => {
      const l = matmulLayout([M, K], shapes[i], false, true);
      const o = device.alloc(x.dtype, M * Ns[i]);
      const values = format === 'float32' ? cpuArray(w[0].storage) : widenStored(w, { format, shape: shapes[i], transposeB: true });
      matmulReference(cpuArray(x.storage), values, cpuArray(o), l, false, true);
      return { storage: o, shape: [M, Ns[i]], dtype: x.dtype };
    });
  };
  registerKernel<GroupMatmulAttrs>('matmulGroup', 'cpu', group);
  // The two products, then the activation's reference expression (as the swiglu or geglu kernel
  // computes it).
  registerKernel<GatedMatmulAttrs>('matmulGated', 'cpu', (device, inputs, attrs) => {
    const [gate, up] = group(device, inputs, attrs);
    const g = cpuArray(gate.storage), u = cpuArray(up.storage);
    if (attrs.activation === 'silu') for (let i = 0; i < g.length; i++) g[i] = g[i] * sigmoidPair(g[i])[0] * u[i];
    else for (let i = 0; i < g.length; i++) g[i] = geluTanh(g[i]) * u[i];
    device.release(up.storage);
    return [gate];
  });
  // The reference: the widened weight times x, exactly what widening then matmul computes here.
  registerKernel<StoredMatmulAttrs>('matmulStored', 'cpu', (device: Device, [x, ...parts], attrs) => {
    const l = storedMatmulLayout(x.shape, attrs);
    const o = device.alloc(x.dtype, l.M * l.N);
    matmulReference(cpuArray(x.storage), widenStored(parts, attrs), cpuArray(o), l, false, attrs.transposeB);
    return [{ storage: o, shape: l.outShape, dtype: x.dtype }];
  });
}
