// WGSL kernels for the fused optimizer updates: one thread per element, every tensor read once and
// written once in place. g is bound read-only; p and the state tensors read_write, each once (a
// buffer may not be bound twice in one dispatch when one binding writes it). Per-step scalars come
// in the meta words as f32 bit patterns, so one pipeline serves every step and learning rate.
import { registerKernel } from '../../autograd/kernel.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, wgslType, memoShader } from '../wgsl.js';
import { type AdamWAttrs, type RMSpropAttrs, adamwScalars, checkUpdate, rmspropNames } from './contract.js';

const WG = 256;

/** meta: n, decay, β1, 1 − β1, β2, 1 − β2, step size, √bc2, ε, gradient scale. */
const ADAMW = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
fn scalar(k: u32) -> f32 { return bitcast<f32>(params[k]); }
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  let gi = g[i] * scalar(9u);
  let mi = scalar(2u) * m[i] + scalar(3u) * gi;
  let vi = scalar(4u) * v[i] + scalar(5u) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] * scalar(1u) - scalar(6u) * (mi / (sqrt(vi) / scalar(7u) + scalar(8u)));
}`;

/** meta: n, lr, α, 1 − α, ε, weight decay, momentum, gradient scale. Bindings after g: p, s[, ḡ][, b]. */
function rmspropKernelSource(centered: boolean, momentum: boolean): string {
  let b = 4;
  const ga = centered ? b++ : 0;
  const buf = momentum ? b++ : 0;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> s: array<f32>;
${centered ? `@group(0) @binding(${ga}) var<storage, read_write> ga: array<f32>;` : ''}
${momentum ? `@group(0) @binding(${buf}) var<storage, read_write> buf: array<f32>;` : ''}
fn scalar(k: u32) -> f32 { return bitcast<f32>(params[k]); }
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  let lr = scalar(1u);
  let alpha = scalar(2u);
  let wd = scalar(5u);
  let pi = p[i];
  var gi = g[i] * scalar(7u);
  // PyTorch adds wd·p only when wd ≠ 0 (so an Inf parameter with wd = 0 does not make NaN).
  if (wd != 0.0) { gi = gi + wd * pi; }
  let si = alpha * s[i] + scalar(3u) * gi * gi;
  s[i] = si;
  ${centered
    ? `let gai = alpha * ga[i] + scalar(3u) * gi;
  ga[i] = gai;
  let avg = sqrt(si - gai * gai) + scalar(4u);`
    : 'let avg = sqrt(si) + scalar(4u);'}
  ${momentum
    ? `let bi = scalar(6u) * buf[i] + gi / avg;
  buf[i] = bi;
  p[i] = pi - lr * bi;`
    : 'p[i] = pi - lr * (gi / avg);'}
}`;
}

export function registerOptimWebGPU(): void {
  registerKernel<AdamWAttrs>('adamw', 'webgpu', (dev, inputs, attrs) => {
    const device = dev as WebGPUDevice;
    const n = checkUpdate('adamw', ['param', 'grad', 'exp_avg', 'exp_avg_sq'], inputs);
    wgslType(inputs[0].dtype);
    const c = adamwScalars(attrs);
    const [p, g, m, v] = inputs.map((t) => t.storage);
    device.dispatch({
      name: 'adamw',
      code: ADAMW,
      meta: new Meta().u32(n).f32(c.decay, c.beta1, 1 - c.beta1, c.beta2, 1 - c.beta2, c.stepSize, c.bc2Sqrt, c.eps, c.gradScale).build(),
      inputs: [g],
      outputs: [p, m, v],
      workgroups: grid1d(Math.ceil(n / WG)),
    });
    return [];
  });

  registerKernel<RMSpropAttrs>('rmsprop', 'webgpu', (dev, inputs, attrs) => {
    const device = dev as WebGPUDevice;
    const n = checkUpdate('rmsprop', rmspropNames(attrs), inputs);
    wgslType(inputs[0].dtype);
    const [p, g, ...states] = inputs.map((t) => t.storage);
    device.dispatch({
      name: 'rmsprop',
      code: rmspropKernel(attrs.centered, attrs.momentum > 0),
      meta: new Meta().u32(n).f32(attrs.lr, attrs.alpha, 1 - attrs.alpha, attrs.eps, attrs.weightDecay, attrs.momentum, attrs.gradScale ?? 1).build(),
      inputs: [g],
      outputs: [p, ...states],
      workgroups: grid1d(Math.ceil(n / WG)),
    });
    return [];
  });
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
const rmspropKernel = memoShader(rmspropKernelSource);
