// WGSL NF4 (see contract.ts). quantizeNf4: one workgroup of 64 threads per block: the block's
// absolute maximum by a tree in workgroup memory, each thread's nearest level, then 8 threads pack
// the 64 codes into 8 words. dequantizeNf4: one thread per value.
import { registerKernel } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, memoShader } from '../wgsl.js';
import { NF4_BLOCK, NF4_LEVELS, NF4_ZERO, nf4Blocks, nf4Words } from './contract.js';
import type { Nf4Attrs } from './op.js';

// The levels as float32 bit patterns, so the shader holds exactly the values the CPU rounds to.
const LEVELS = `array<f32, 16>(${NF4_LEVELS.map((v) => `bitcast<f32>(${new Uint32Array(new Float32Array([v]).buffer)[0]}u)`).join(', ')})`;

// params: [n].
const quantizeShader = memoShader(() => /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> codes: array<u32>;
@group(0) @binding(3) var<storage, read_write> absmax: array<f32>;
var<workgroup> m: array<f32, ${NF4_BLOCK}>;
var<workgroup> k: array<u32, ${NF4_BLOCK}>;
@compute @workgroup_size(${NF4_BLOCK})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let n = params[0];
  let i = wg_flat * ${NF4_BLOCK}u + lid.x;
  var v = 0.0;
  if (i < n) { v = x[i]; }
  m[lid.x] = abs(v);
  workgroupBarrier();
  for (var s = ${NF4_BLOCK / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { m[lid.x] = max(m[lid.x], m[lid.x + s]); }
    workgroupBarrier();
  }
  let top = m[0];
  var best = ${NF4_ZERO}u;
  if (top > 0.0) {
    var levels = ${LEVELS};
    var bestDist = 3.4e38;
    for (var j = 0u; j < 16u; j++) {
      let d = abs(v - levels[j] * top);
      if (d < bestDist) { best = j; bestDist = d; }
    }
  }
  k[lid.x] = best;
  workgroupBarrier();
  if (lid.x == 0u) { absmax[wg_flat] = top; }
  if (lid.x < ${NF4_BLOCK / 8}u) {
    let first = wg_flat * ${NF4_BLOCK}u + 8u * lid.x;
    if (first < n) {
      var word = 0u;
      for (var j = 0u; j < 8u; j++) {
        if (first + j < n) { word = word | (k[8u * lid.x + j] << (4u * j)); }
      }
      codes[first / 8u] = word;
    }
  }
}`);

// params: [n].
const dequantizeShader = memoShader(() => /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read> absmax: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * 256u + lid.x;
  if (i >= params[0]) { return; }
  var levels = ${LEVELS};
  y[i] = levels[(codes[i >> 3u] >> (4u * (i & 7u))) & 15u] * absmax[i / ${NF4_BLOCK}u];
}`);

export function registerNf4WebGPU(): void {
  registerKernel<Record<string, never>>('quantizeNf4', 'webgpu', (dev, [x]) => {
    const device = dev as WebGPUDevice;
    const n = sizeOf(x.shape);
    const codes = device.alloc('int32', nf4Words(n)), absmax = device.alloc('float32', nf4Blocks(n));
    if (n > 0) device.dispatch({ name: 'quantizeNf4', code: quantizeShader(), meta: new Meta().u32(n).build(), inputs: [x.storage], outputs: [codes, absmax], workgroups: grid1d(nf4Blocks(n)) });
    return [
      { storage: codes, shape: [nf4Words(n)], dtype: 'int32' },
      { storage: absmax, shape: [nf4Blocks(n)], dtype: 'float32' },
    ];
  });
  registerKernel<Nf4Attrs>('dequantizeNf4', 'webgpu', (dev, [codes, absmax], { shape, dtype }) => {
    const device = dev as WebGPUDevice;
    const n = sizeOf(shape);
    const o = device.alloc(dtype, n);
    if (n > 0) device.dispatch({ name: 'dequantizeNf4', code: dequantizeShader(), meta: new Meta().u32(n).build(), inputs: [codes.storage, absmax.storage], outputs: [o], workgroups: grid1d(Math.ceil(n / 256)) });
    return [{ storage: o, shape: [...shape], dtype }];
  });
}
