// WGSL kernels for token log-probs, f32 logits, int32 targets, f32 or i32 mask.
// - Forward: one workgroup per row (rows folded into a 2-D grid past 65535). Each thread walks a
//   strided slice of the row once, keeping an online (max m, Σ exp(x − m)) pair: a larger value
//   rescales the sum by exp(m_old − m_new), so each logit costs one exp and is read once. The
//   pairs meet in a tree in workgroup memory (m = max(m₁, m₂), s = s₁e^{m₁−m} + s₂e^{m₂−m}); then
//   thread 0 gathers the target logit and writes out, m and ℓ = log s (see contract.ts). The
//   running max starts at −FLT_MAX, not −Inf, so a −Inf logit adds exp(−Inf) = 0 instead of
//   exp(−Inf + Inf) = NaN; an all −Inf row ends with s = 0, ℓ = −Inf, and is flagged NaN. Masked
//   rows return before reading anything (the branch is uniform: one row per workgroup).
// - Backward: a workgroup covers 256 × 4 consecutive logits of one row (the row's dy·mask, m, ℓ
//   and target are the same address for every thread: one cached load), each thread writes
//   dy·mask·(1[v = t] − exp((x − m) − ℓ)) for 4 coalesced elements. Rows with dy·mask = 0 write
//   zeros without reading the logits.
// - Soft-capping (attrs.softcap > 0, the cap in params): both kernels read the raw logit x and use
//   c = cap·stable_tanh(x/cap) where they used x; the backward multiplies by 1 − tanh²(x/cap)
//   (sech2 below, from e = exp(−2|x/cap|)). Whether to cap is baked into the shader.
// Workgroup size of the forward: ≈16 logits per thread, a power of two in [32, 1024] (as the
// softmax rows kernel, whose measurements chose it); a 32k vocabulary gets 1024 threads.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, FROM_BITS, Meta, TANH_WGSL, grid1d, wgslLiteral, wgslType, memoShader } from '../wgsl.js';
import { type TokenLogprobsAttrs, STATS, logprobsLayout } from './contract.js';

export const NAN = 'from_bits(0x7fc00000u)';
export const LOWEST = wgslLiteral(-3.4028234663852886e38, 'f32');
const HELPERS = /* wgsl */ `
${FROM_BITS}
fn is_finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }`;

/** Soft-capping's helpers: the capped logit and its slope 1 − tanh²(u) = 4e/(1 + e)², e = exp(−2|u|). */
const SOFTCAP_HELPERS = /* wgsl */ `
${TANH_WGSL}
fn cap_logit(v: f32, cap: f32) -> f32 { return cap * stable_tanh(v / cap); }
fn sech2(u: f32) -> f32 {
  let e = exp(-2.0 * abs(u));
  let d = 1.0 + e;
  return 4.0 * e / (d * d);
}`;

/** WGSL reading logit `at` as the softmax sees it: capped (the cap in the variable `cap`) or as is. */
export function logitAt(at: string, capped: boolean): string {
  return capped ? `cap_logit(x[${at}], cap)` : `x[${at}]`;
}

/** Backward: threads per workgroup and logits per thread. */
const GRAD_WG = 256;
const GRAD_EPT = 4;

/**
 * A row kernel's bindings (params, logits x, targets ids[, mask], out) and helpers (from_bits,
 * is_finite; cap_logit and sech2 when capped): tokenLogprobs's forward and alignedTokenLogprobs.
 */
export function logitRowsBindings(maskType: 'f32' | 'i32' | null, capped: boolean): string {
  return /* wgsl */ `@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
${maskType ? `@group(0) @binding(3) var<storage, read> mask: array<${maskType}>;` : ''}
@group(0) @binding(${maskType ? 4 : 3}) var<storage, read_write> out: array<f32>;
${HELPERS}
${capped ? SOFTCAP_HELPERS : ''}`;
}

/**
 * The start of a row kernel's main (one workgroup per row): row, vocab, rows, cap, the row's mask
 * weight as `weight`; a masked row runs `zero` on thread 0 and returns; `base` the row's first logit.
 */
export function logitRowStart(maskType: 'f32' | 'i32' | null, capped: boolean, zero: string): string {
  return /* wgsl */ `  ${FLAT_WORKGROUP}
  let row = wg_flat;
  let vocab = params[0];
  let rows = params[1];
  ${capped ? 'let cap = bitcast<f32>(params[2]);' : ''}
  if (row >= rows) { return; }
  let weight = ${maskType ? 'f32(mask[row])' : '1.0'};
  if (weight == 0.0) {
    if (lid.x == 0u) { ${zero} }
    return;
  }
  let base = row * vocab;`;
}

function forwardKernelSource(wg: number, maskType: 'f32' | 'i32' | null, capped: boolean): string {
  const out = maskType ? 4 : 3;
  return /* wgsl */ `
${logitRowsBindings(maskType, capped)}
var<workgroup> pm: array<f32, ${wg}>;
var<workgroup> ps: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${BUILTINS_1D}) {
${logitRowStart(maskType, capped, 'out[row] = 0.0; out[rows + row] = 0.0; out[2u * rows + row] = 0.0;')}

  var m = ${LOWEST};
  var s = 0.0;
  for (var k = lid.x; k < vocab; k += ${wg}u) {
    let v = ${logitAt('base + k', capped)};
    if (v > m) { s = s * exp(m - v) + 1.0; m = v; } else { s += exp(v - m); }
  }
  pm[lid.x] = m;
  ps[lid.x] = s;
  workgroupBarrier();
  for (var h = ${wg / 2}u; h > 0u; h >>= 1u) {
    if (lid.x < h) {
      let m1 = pm[lid.x];
      let m2 = pm[lid.x + h];
      let mx = max(m1, m2);
      ps[lid.x] = ps[lid.x] * exp(m1 - mx) + ps[lid.x + h] * exp(m2 - mx);
      pm[lid.x] = mx;
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let mx = pm[0];
    let ls = log(ps[0]);
    let t = ids[row];
    let ok = t >= 0 && u32(t) < vocab && is_finite(mx + ls);
    let xt = ${logitAt('base + select(0u, u32(t), ok)', capped)};
    out[row] = select(${NAN}, weight * ((xt - mx) - ls), ok);
    out[rows + row] = mx;
    out[2u * rows + row] = select(${NAN}, ls, ok);
  }
}`;
}

function backwardKernelSource(maskType: 'f32' | 'i32' | null, capped: boolean): string {
  const b = maskType ? 4 : 3;
  const chunk = GRAD_WG * GRAD_EPT;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
${maskType ? `@group(0) @binding(3) var<storage, read> mask: array<${maskType}>;` : ''}
@group(0) @binding(${b}) var<storage, read> saved: array<f32>;
@group(0) @binding(${b + 1}) var<storage, read> dy: array<f32>;
@group(0) @binding(${b + 2}) var<storage, read_write> dx: array<f32>;
${capped ? SOFTCAP_HELPERS : ''}
@compute @workgroup_size(${GRAD_WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let vocab = params[0];
  let rows = params[1];
  let chunks = params[2];
  ${capped ? 'let cap = bitcast<f32>(params[3]);' : ''}
  if (wg_flat >= rows * chunks) { return; }
  let row = wg_flat / chunks;
  let first = (wg_flat % chunks) * ${chunk}u + lid.x;
  let c = dy[row]${maskType ? ' * f32(mask[row])' : ''};
  let m = saved[rows + row];
  let ls = saved[2u * rows + row];
  let t = ids[row];
  let base = row * vocab;
  for (var j = 0u; j < ${GRAD_EPT}u; j++) {
    let v = first + j * ${GRAD_WG}u;
    if (v < vocab) {
      var g = 0.0;
      if (c != 0.0) {
        g = c * (select(0.0, 1.0, i32(v) == t) - exp((${logitAt('base + v', capped)} - m) - ls))${capped ? ' * sech2(x[base + v] / cap)' : ''};
      }
      dx[base + v] = g;
    }
  }
}`;
}

function maskTypeOf(mask: TensorInfo | undefined): 'f32' | 'i32' | null {
  return mask ? wgslType(mask.dtype) : null;
}

/** ≈16 logits per thread, a power of two in [32, the adapter's limit ≤ 1024]. */
function forwardWorkgroup(device: WebGPUDevice, vocab: number): number {
  const limit = Math.min(1024, device.limits.maxComputeInvocationsPerWorkgroup, device.limits.maxComputeWorkgroupSizeX);
  let wg = 32;
  while (wg * 16 < vocab && wg * 2 <= limit) wg *= 2;
  return wg;
}

/**
 * The launch of a kernel that reduces each row of logits in one workgroup (tokenLogprobs,
 * alignedTokenLogprobs): inputs logits, targets[, mask], `words` values out per row, meta
 * (vocab, rows, softcap); `code` builds the shader for the workgroup size, mask type and capping.
 */
export function dispatchLogitRows(
  device: WebGPUDevice, name: string, inputs: TensorInfo[], attrs: { masked: boolean; softcap?: number }, words: number,
  code: (workgroup: number, mask: 'f32' | 'i32' | null, capped: boolean) => string,
): TensorInfo[] {
  const [logits, targets] = inputs;
  const mask = attrs.masked ? inputs[2] : undefined;
  const softcap = attrs.softcap ?? 0;
  const { rows, vocab, outShape } = logprobsLayout(logits, targets, mask);
  wgslType(logits.dtype);
  const o = device.alloc(logits.dtype, words * rows);
  if (rows > 0) {
    device.dispatch({
      name,
      code: code(forwardWorkgroup(device, vocab), maskTypeOf(mask), softcap > 0),
      meta: new Meta().u32(vocab, rows).f32(softcap).build(),
      inputs: [logits.storage, targets.storage, ...(mask ? [mask.storage] : [])],
      outputs: [o],
      workgroups: grid1d(rows),
    });
  }
  return [{ storage: o, shape: outShape, dtype: logits.dtype }];
}

export function registerLogprobsWebGPU(): void {
  registerKernel<TokenLogprobsAttrs>('tokenLogprobs', 'webgpu', (dev, inputs, attrs) => dispatchLogitRows(dev as WebGPUDevice, 'tokenLogprobs', inputs, attrs, STATS.words, forwardKernel));

  registerKernel<TokenLogprobsAttrs>('tokenLogprobsGrad', 'webgpu', (dev, inputs, { masked, softcap = 0 }) => {
    const device = dev as WebGPUDevice;
    const [logits, targets] = inputs;
    const mask = masked ? inputs[2] : undefined;
    const [saved, dy] = inputs.slice(masked ? 3 : 2);
    const { rows, vocab } = logprobsLayout(logits, targets, mask);
    const g = device.alloc(logits.dtype, rows * vocab);
    const chunks = Math.ceil(vocab / (GRAD_WG * GRAD_EPT));
    if (rows * chunks > 0) {
      device.dispatch({
        name: 'tokenLogprobsGrad',
        code: backwardKernel(maskTypeOf(mask), softcap > 0),
        meta: new Meta().u32(vocab, rows, chunks).f32(softcap).build(),
        inputs: [logits.storage, targets.storage, ...(mask ? [mask.storage] : []), saved.storage, dy.storage],
        outputs: [g],
        workgroups: grid1d(rows * chunks),
      });
    }
    return [{ storage: g, shape: logits.shape, dtype: logits.dtype }];
  });
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
const forwardKernel = memoShader(forwardKernelSource);
const backwardKernel = memoShader(backwardKernelSource);
