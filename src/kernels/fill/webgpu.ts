// WGSL fill: every element set to one value (zeros, ones, full).
import { registerKernel } from '../../autograd/kernel.js';
import type { Storage } from '../../autograd/device.js';
import type { DType } from '../../autograd/dtype.js';
import { sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, memoShader, wgslType } from '../wgsl.js';
import type { FillAttrs } from './contract.js';

const WG = 256;

export function launchFill(device: WebGPUDevice, dtype: DType, n: number, value: number): Storage {
  const o = device.alloc(dtype, n);
  if (n === 0) return o;
  const T = wgslType(dtype);
  const meta = new Meta().u32(n);
  if (T === 'f32') meta.f32(value);
  else meta.i32(value);
  device.dispatch({ name: 'fill', code: fillShader(T), meta: meta.build(), inputs: [], outputs: [o], workgroups: grid1d(Math.ceil(n / WG)) });
  return o;
}

const fillShader = memoShader((T: 'f32' | 'i32') => /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<${T}>;
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i < params[0]) { out[i] = bitcast<${T}>(params[1]); }
}`);

export function registerFillWebGPU(): void {
  registerKernel<FillAttrs>('fill', 'webgpu', (device, _inputs, { shape, dtype, value }) => [
    { storage: launchFill(device as WebGPUDevice, dtype, sizeOf(shape), value), shape, dtype },
  ]);
}
