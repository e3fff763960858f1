// WGSL strided copy: one thread per element of the iterated shape; source and destination offsets
// are rebuilt from the flat index, unrolled per dimension (rank is baked into the shader).
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Storage } from '../../autograd/device.js';
import { type Shape, sizeOf, stridesOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, wgslType, memoShader } from '../wgsl.js';
import { launchFill } from '../fill/webgpu.js';
import { concatLayout } from './cpu.js';
import type { ConcatAttrs, PadRegionAttrs, StridedAttrs } from './contract.js';

const WG = 256;

function copyShaderSource(T: string, rank: number): string {
  // meta: n, shape[rank], srcOffset, srcStrides[rank], dstOffset, dstStrides[rank]
  const S = 1, SO = 1 + rank, DO = 2 + 2 * rank;
  const lines: string[] = [];
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`{ let dim = params[${S + d}]; let k = rem % dim; rem = rem / dim; s += k * params[${SO + 1 + d}]; t += k * params[${DO + 1 + d}]; }`);
  }
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<${T}>;
@group(0) @binding(2) var<storage, read_write> dst: array<${T}>;
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  var rem = i;
  var s = params[${SO}];
  var t = params[${DO}];
  ${lines.join('\n  ')}
  dst[t] = src[s];
}`;
}

/** Queues dst[dstOff + Σ i·dstStrides] = src[srcOff + Σ i·srcStrides] over `shape`. */
export function launchCopyRegion(device: WebGPUDevice, src: TensorInfo, srcOff: number, srcStrides: number[], dst: Storage, dstOff: number, dstStrides: number[], shape: Shape): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const meta = new Meta().u32(n, ...shape, srcOff, ...srcStrides, dstOff, ...dstStrides).build();
  device.dispatch({ name: 'copy', code: copyShader(wgslType(src.dtype), shape.length), meta, inputs: [src.storage], outputs: [dst], workgroups: grid1d(Math.ceil(n / WG)) });
}

export function registerCopyWebGPU(): void {
  registerKernel<StridedAttrs>('strided', 'webgpu', (dev, [x], { shape, offset, strides }) => {
    const device = dev as WebGPUDevice;
    const o = device.alloc(x.dtype, sizeOf(shape));
    launchCopyRegion(device, x, offset, strides, o, 0, stridesOf(shape), shape);
    return [{ storage: o, shape, dtype: x.dtype }];
  });
  registerKernel<PadRegionAttrs>('padRegion', 'webgpu', (dev, [x], { outShape, offset, strides }) => {
    const device = dev as WebGPUDevice;
    const o = launchFill(device, x.dtype, sizeOf(outShape), 0);
    launchCopyRegion(device, x, 0, stridesOf(x.shape), o, offset, strides, x.shape);
    return [{ storage: o, shape: outShape, dtype: x.dtype }];
  });
  registerKernel<ConcatAttrs>('concat', 'webgpu', (dev, xs, { axis }) => {
    const device = dev as WebGPUDevice;
    const { shape, parts } = concatLayout(xs.map((x) => x.shape), axis);
    const o = device.alloc(xs[0].dtype, sizeOf(shape));
    xs.forEach((x, k) => launchCopyRegion(device, x, 0, stridesOf(x.shape), o, parts[k].offset, parts[k].strides, x.shape));
    return [{ storage: o, shape, dtype: xs[0].dtype }];
  });
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
const copyShader = memoShader(copyShaderSource);
