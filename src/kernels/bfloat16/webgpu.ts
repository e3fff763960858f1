// WGSL bfloat16 conversions. bfloat16 buffers are array<u32>, two elements per word (src/autograd/bfloat16.ts).
// toBfloat16: one thread per word, packing two rounded elements; fromBfloat16: one thread per
// element, shifting its half-word into the high bits of a float32.
import { registerKernel } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import type { DType } from '../../autograd/dtype.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, memoShader } from '../wgsl.js';

const WG = 256;

// params: [n elements].
const toShader = memoShader(() => /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;
fn bf16(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return ((b >> 16u) | 0x40u) & 0xffffu; }
  return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let w = wg_flat * ${WG}u + lid.x;
  let n = params[0];
  if (2u * w >= n) { return; }
  var hi = 0u;
  if (2u * w + 1u < n) { hi = bf16(x[2u * w + 1u]); }
  y[w] = bf16(x[2u * w]) | (hi << 16u);
}`);

const fromShader = memoShader(() => /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  let word = x[i >> 1u];
  y[i] = bitcast<f32>(select(word << 16u, word & 0xffff0000u, (i & 1u) == 1u));
}`);

export function registerBfloat16WebGPU(): void {
  registerKernel<Record<string, never>>('toBfloat16', 'webgpu', (dev, [x]) => {
    const device = dev as WebGPUDevice;
    const n = sizeOf(x.shape);
    const o = device.alloc('bfloat16', n);
    if (n > 0) device.dispatch({ name: 'toBfloat16', code: toShader(), meta: new Meta().u32(n).build(), inputs: [x.storage], outputs: [o], workgroups: grid1d(Math.ceil(n / 2 / WG)) });
    return [{ storage: o, shape: x.shape, dtype: 'bfloat16' }];
  });
  registerKernel<{ dtype: DType }>('fromBfloat16', 'webgpu', (dev, [x], { dtype }) => {
    const device = dev as WebGPUDevice;
    const n = sizeOf(x.shape);
    const o = device.alloc(dtype, n);
    if (n > 0) device.dispatch({ name: 'fromBfloat16', code: fromShader(), meta: new Meta().u32(n).build(), inputs: [x.storage], outputs: [o], workgroups: grid1d(Math.ceil(n / WG)) });
    return [{ storage: o, shape: x.shape, dtype }];
  });
}
