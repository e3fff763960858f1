// WGSL dropout: one thread per element; the mask from the counter-based hash of contract.ts.
import { registerKernel } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, memoShader } from '../wgsl.js';
import { type DropoutAttrs, dropThreshold, mix32 } from './contract.js';

const WG = 256;

// params: [n, threshold, mixed seed, scale (f32 bits)].
const dropoutShader = memoShader(() => /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
fn mix32(v: u32) -> u32 {
  var h = v;
  h = h ^ (h >> 16u); h = h * 0x7feb352du;
  h = h ^ (h >> 15u); h = h * 0x846ca68bu;
  return h ^ (h >> 16u);
}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  y[i] = select(0.0, x[i] * bitcast<f32>(params[3]), mix32(i ^ params[2]) >= params[1]);
}`);

export function registerDropoutWebGPU(): void {
  registerKernel<DropoutAttrs>('dropout', 'webgpu', (dev, [x], { p, seed }) => {
    const device = dev as WebGPUDevice;
    const n = sizeOf(x.shape);
    const o = device.alloc(x.dtype, n);
    if (n > 0) {
      const meta = new Meta().u32(n, dropThreshold(p), mix32(seed >>> 0)).f32(1 / (1 - p)).build();
      device.dispatch({ name: 'dropout', code: dropoutShader(), meta, inputs: [x.storage], outputs: [o], workgroups: grid1d(Math.ceil(n / WG)) });
    }
    return [{ storage: o, shape: x.shape, dtype: x.dtype }];
  });
}
