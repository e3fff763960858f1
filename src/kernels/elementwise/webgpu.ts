// WGSL elementwise kernels: one thread per output element. When an input has the output's shape it
// is read at the same flat index; otherwise its offset is rebuilt from the output index and its
// broadcast strides (0 on broadcast dimensions), unrolled per dimension at shader generation.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { DType } from '../../autograd/dtype.js';
import { type Shape, broadcastShapes, broadcastStrides, sameShape, sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, memoShader, wgslType } from '../wgsl.js';
import { BINARY_WGSL, UNARY_WGSL, WGSL_HELPERS, type BinaryOp, type CompareOp, type UnaryOp } from './ops-table.js';

const WG = 256;

/**
 * Runs `expr` over broadcast inputs. `names` are the WGSL variable names the expression uses for
 * each input, in order.
 */
export function launchElementwise(device: WebGPUDevice, name: string, inputs: TensorInfo[], names: string[], expr: string, outDtype: DType, outShape?: Shape): TensorInfo {
  const shape = outShape ?? inputs.map((t) => t.shape).reduce((a, b) => broadcastShapes(a, b));
  const n = sizeOf(shape);
  const out: TensorInfo = { storage: device.alloc(outDtype, n), shape, dtype: outDtype };
  if (n === 0) return out;
  const meta = new Meta().u32(n, ...shape);
  const same = inputs.map((t) => sameShape(t.shape, shape));
  inputs.forEach((t, k) => {
    if (!same[k]) meta.u32(...broadcastStrides(t.shape, shape));
  });
  const code = elementwiseShader(wgslType(outDtype), inputs.map((t) => wgslType(t.dtype)), same, names, expr, shape.length);
  device.dispatch({ name, code, meta: meta.build(), inputs: inputs.map((t) => t.storage), outputs: [out.storage], workgroups: grid1d(Math.ceil(n / WG)) });
  return out;
}

/**
 * The shader of one elementwise launch: output type T, each input's type and whether it has the
 * output's shape (else its broadcast strides follow the shape in params, in input order).
 */
const elementwiseShader = memoShader((T: 'f32' | 'i32', types: string[], same: boolean[], names: string[], expr: string, rank: number): string => {
  const reads: string[] = [];
  let base = 1 + rank;
  types.forEach((ty, k) => {
    if (same[k]) {
      reads.push(`let ${names[k]} = ${ty}(in${k}[i]);`);
      return;
    }
    const terms = Array.from({ length: rank }, (_, d) => `((i / stride_out${d}) % params[${1 + d}]) * params[${base + d}]`);
    base += rank;
    reads.push(`let ${names[k]} = in${k}[${terms.join(' + ') || '0u'}];`);
  });
  const outStrides = Array.from({ length: rank }, (_, d) => `let stride_out${d} = ${Array.from({ length: rank - d - 1 }, (_, j) => `params[${2 + d + j}]`).join(' * ') || '1u'};`);
  const needsStrides = same.some((s) => !s);
  return /* wgsl */ `
alias T = ${T};
@group(0) @binding(0) var<storage, read> params: array<u32>;
${types.map((ty, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<${ty}>;`).join('\n')}
@group(0) @binding(${types.length + 1}) var<storage, read_write> out: array<T>;
${T === 'f32' ? WGSL_HELPERS : ''}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  ${needsStrides ? outStrides.join('\n  ') : ''}
  ${reads.join('\n  ')}
  out[i] = T(${expr});
}`;
});

export function registerElementwiseWebGPU(): void {
  for (const op of Object.keys(UNARY_WGSL) as UnaryOp[]) {
    registerKernel(op, 'webgpu', (device, [x]) => [launchElementwise(device as WebGPUDevice, op, [x], ['x'], UNARY_WGSL[op], x.dtype)]);
  }
  for (const op of Object.keys(BINARY_WGSL) as (BinaryOp | CompareOp)[]) {
    registerKernel(op, 'webgpu', (device, [a, b]) => [launchElementwise(device as WebGPUDevice, op, [a, b], ['a', 'b'], BINARY_WGSL[op], a.dtype)]);
  }
  registerKernel('where', 'webgpu', (device, [c, a, b]) => {
    const zero = c.dtype === 'int32' ? '0i' : '0.0';
    return [launchElementwise(device as WebGPUDevice, 'where', [c, a, b], ['c', 'a', 'b'], `select(b, a, c != ${zero})`, a.dtype)];
  });
  registerKernel<{ dtype: DType }>('cast', 'webgpu', (device, [x], { dtype }) => [
    // f32 → i32 conversion in WGSL truncates toward zero, as the CPU reference does.
    launchElementwise(device as WebGPUDevice, 'cast', [x], ['x'], 'x', dtype),
  ]);
}
