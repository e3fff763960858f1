// WGSL RoPE: one thread per (row, k) of [B·H·T, D − R/2]: for k < R/2 it rotates the pair
// (k, k + R/2), for k ≥ R/2 it copies element k + R/2 (the pass-through dims R … D−1). Each
// thread computes its angle from the position and inv_freq (no cos/sin tables in memory) and
// evaluates cos and sin with its own range reduction and polynomials: WGSL's builtin sin/cos
// promise an error bound only on [−π, π] (Vulkan: 2⁻¹¹ absolute there), and angles reach 10⁵ rad.
//
// sincos: k = round(θ·2/π), r = θ − k·π/2 by Cody–Waite with π/2 split into five float32 parts
// of 7 significant bits each (the last: the rest), so every product k·Pᵢ is exact for
// |k| < 2¹⁷ and each subtraction cancels exactly; this holds whether or not the driver fuses
// them into FMAs. Then Cephes' sinf/cosf minimax polynomials on |r| ≤ π/4 (~1 ulp) and the
// quadrant k mod 4. Measured (numpy float32 simulation against mpmath): ≤ 1e-7 absolute for
// |θ| ≤ 2·10⁵; past 2¹⁷·π/2 the products stop being exact and the error grows toward ulp(θ).
import { registerKernel } from '../../autograd/kernel.js';
import { sizeOf } from '../../autograd/shape.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, wgslType } from '../wgsl.js';
import { type RopeAttrs, ropeLayout } from './contract.js';

const WG = 256;

/** vec2(cos θ, sin θ); see the file comment. */
export const SINCOS_WGSL = /* wgsl */ `
fn sincos(theta: f32) -> vec2<f32> {
  let k = round(theta * 0.636619772367581343);
  var r = theta - k * 1.578125;
  r = r - k * -0.00732421875;
  r = r - k * -4.470348358154297e-06;
  r = r - k * 1.5832483768463135e-08;
  r = r - k * 6.07710062827671e-11;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  // Quadrant k mod 4 (two's complement & 3 is the floor modulus, right for negative k too).
  switch (i32(k) & 3) {
    case 0: { return vec2<f32>(c, s); }
    case 1: { return vec2<f32>(-s, c); }
    case 2: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}`;

/** meta: threads, W = D − R/2, R/2, D, T, H·T, positions per batch (0/1), sign of sin (f32). */
const ROPE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<i32>;
@group(0) @binding(3) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${SINCOS_WGSL}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  let w = params[1]; let half = params[2]; let d = params[3]; let seq = params[4];
  let row = i / w;
  let k = i % w;
  let base = row * d;
  if (k < half) {
    let t = row % seq;
    let p = pos[select(t, (row / params[5]) * seq + t, params[6] != 0u)];
    // The float32 angle, as Hugging Face computes it (see contract.ts).
    let cs = sincos(f32(p) * inv_freq[k]);
    let sn = cs.y * bitcast<f32>(params[7]);
    let x1 = x[base + k];
    let x2 = x[base + k + half];
    y[base + k] = x1 * cs.x - x2 * sn;
    y[base + k + half] = x2 * cs.x + x1 * sn;
  } else {
    let j = k + half;
    y[base + j] = x[base + j];
  }
}`;

export function registerRopeWebGPU(): void {
  registerKernel<RopeAttrs>('applyRope', 'webgpu', (device, [x, positions, invFreq], { rotaryDim, inverse }) => {
    const { heads, seq, headDim, half, perBatch } = ropeLayout(x, positions, invFreq, rotaryDim);
    wgslType(x.dtype);
    wgslType(invFreq.dtype);
    const size = sizeOf(x.shape);
    const gpu = device as WebGPUDevice;
    const out = { storage: gpu.alloc(x.dtype, size), shape: x.shape, dtype: x.dtype };
    const w = headDim - half;
    const threads = (size / headDim) * w;
    if (size > 0) {
      const meta = new Meta().u32(threads, w, half, headDim, seq, heads * seq, perBatch ? 1 : 0).f32(inverse ? -1 : 1).build();
      gpu.dispatch({ name: 'applyRope', code: ROPE, meta, inputs: [x.storage, positions.storage, invFreq.storage], outputs: [out.storage], workgroups: grid1d(Math.ceil(threads / WG)) });
    }
    return [out];
  });
}
