// WGSL decoding kernels (see contract.ts).
//
// cacheWrite: one thread per element of the sources (several caches of one shape in one launch),
// each written into its column of its cache in place. rotateAndCache: the same for a layer's keys
// (rotated on the way, RoPE's code) and values, with the queries' rotation in the same launch.
//
// decodeAttention: one workgroup of 256 threads per (row, query head); the query is staged in
// workgroup memory. (1) Thread t scores columns t, t + 256, …: a visible column's scale · q·kⱼ (vec4
// dot products when D is a multiple of 4; soft-capped when softcap > 0), an invisible one a
// sentinel; the row maximum by a tree.
// (2) Each thread turns its scores into exp(s − max) in place and the sum is reduced. (3) The
// threads split into ⌊256 / D⌋ groups of D lanes (one group of 256 when D > 256); group g sums
// pⱼ·vⱼ over columns j ≡ g, lane d reading element d of each vⱼ (a group reads a whole row of v at
// once), the groups' sums meet in workgroup memory, o = Σ / total. The scores live in a scratch
// buffer of B·H·L floats (any L; workgroup memory would cap the context length). The cache is read
// in place: no concatenated copy, no kv heads repeated for GQA (query heads sharing a kv head read
// the same rows, from cache).
import { registerKernel } from '../../autograd/kernel.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { sizeOf } from '../../autograd/shape.js';
import { BUILTINS_1D, FLAT_WORKGROUP, Meta, grid1d, memoShader, wgslType } from '../wgsl.js';
import { ROPE_MAIN_START, ROPE_WG, SINCOS_WGSL, rotate } from '../rope/webgpu.js';
import { ropePairLayout } from '../rope/contract.js';
import { type CacheWriteAttrs, type DecodeAttentionAttrs, type RotateAndCacheAttrs, cacheWriteColumns, decodeDims } from './contract.js';

const WG = 256;
// Scores of invisible columns: below any real score, above −3.4e38 so that max() of them is too.
const HIDDEN = '-3.0e38';

// params: [total (elements of one source), n, C, D, offset]; grid over count · total.
const writeShader = memoShader((count: number) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
${Array.from({ length: count }, (_, p) => `@group(0) @binding(${1 + p}) var<storage, read> src${p}: array<f32>;`).join('\n')}
${Array.from({ length: count }, (_, p) => `@group(0) @binding(${1 + count + p}) var<storage, read_write> cache${p}: array<f32>;`).join('\n')}
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let g = wg_flat * ${WG}u + lid.x;
  let total = params[0];
  if (g >= ${count}u * total) { return; }
  let p = g / total; let i = g % total;
  let n = params[1]; let C = params[2]; let D = params[3];
  let d = i % D; let t = (i / D) % n; let bh = i / (D * n);
  let at = (bh * C + params[4] + t) * D + d;
  ${Array.from({ length: count }, (_, p) => `if (p == ${p}u) { cache${p}[at] = src${p}[i]; }`).join('\n  ')}
}`);

// rotateAndCache. Threads [0, nq) rotate q into y0 (applyRope's code), [nq, nq + nk) rotate k into
// the key cache's columns, the rest copy v into the value cache's.
// params: total, W = D − R/2, R/2, D, n, H·n, positions per batch (0/1), sign of sin (f32, 1), nq,
// Hkv·n, nk, C, offset.
const ROTATE_AND_CACHE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x0: array<f32>;
@group(0) @binding(2) var<storage, read> x1: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> pos: array<i32>;
@group(0) @binding(5) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(6) var<storage, read_write> y0: array<f32>;
@group(0) @binding(7) var<storage, read_write> kc: array<f32>;
@group(0) @binding(8) var<storage, read_write> vc: array<f32>;
${SINCOS_WGSL}
${ROPE_MAIN_START}
  let nq = params[8]; let nk = params[10]; let C = params[11]; let off = params[12];
  if (i < nq) ${rotate(0, 'i', 'params[5]')}
  else if (i < nq + nk) ${rotate(1, 'i - nq', 'params[9]', 'kc', '((row / seq) * C + off + row % seq) * d')}
  else {
    let e = i - nq - nk;
    let row = e / d;
    vc[((row / seq) * C + off + row % seq) * d + e % d] = v[e];
  }
}`;

/** decodeAttention's kernel versions (a ladder: `version` picks one; 0 is the default). */
export const DECODE_ATTENTION_VERSIONS = [
  { version: 0, name: 'a thread per column' },
  { version: 1, name: 'a group of lanes per column (vec4 head dims of 8 or more; else v0)' },
  { version: 2, name: 'v0 over chunks of 256 columns, a workgroup each, then a merge (flash-decoding)' },
] as const;

/**
 * Phase (1) of version 1: G lanes per column (G: the largest power of two up to min(D/4, 32); at
 * D = 128 a warp reads a key row at once, coalesced), 256/G columns per round, the lanes' partial dot products summed by the group's
 * first lane from workgroup memory. Rounds are uniform (L is), so the barriers may sit inside.
 */
function scoresByLaneGroups(D: number): string {
  let G = 1;
  while (G < 32 && 2 * G <= D / 4) G *= 2; // a power of two, so that it divides the 256 threads
  const cols = WG / G;
  return `var m = ${HIDDEN};
  let lane1 = lid.x % ${G}u;
  for (var j0 = 0u; j0 < L; j0 += ${cols}u) {
    let j = j0 + lid.x / ${G}u;
    var partial = 0.0;
    let seen = j < L && visible[b * L + min(j, L - 1u)] > 0.0;
    if (seen) {
      for (var d = lane1; d < ${D / 4}u; d += ${G}u) { partial += dot(qs[d], k[(kb + j * ${D}u) / 4u + d]); }
    }
    part[lid.x] = partial;
    workgroupBarrier();
    if (lane1 == 0u && j < L) {
      var sc = 0.0;
      for (var u = 0u; u < ${G}u; u++) { sc += part[lid.x + u]; }
      let s = select(${HIDDEN}, capped(sc * scale, softcap), seen);
      p[pb + j] = s;
      m = max(m, s);
    }
    workgroupBarrier();
  }`;
}

function attentionSource(D: number, version: number): string {
  const vec = D % 4 === 0;
  const grouped = version === 1 && vec && D >= 8;
  // v2: this workgroup's share of the columns, [j0, j1) of chunk s; its unnormalized output, maximum
  // and sum go to o as a partial (D + 2 floats), merged by combineSource's launch.
  const split = version === 2;
  const lanes = Math.min(D, WG), groups = Math.floor(WG / lanes);
  const dot = vec
    ? `var sc = 0.0;
      for (var d = 0u; d < ${D / 4}u; d++) { sc += dot(qs[d], k[(kb + j * ${D}u) / 4u + d]); }`
    : `var sc = 0.0;
      for (var d = 0u; d < ${D}u; d++) { sc += qs[d] * k[kb + j * ${D}u + d]; }`;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<${vec ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> visible: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> p: array<f32>;
var<workgroup> qs: array<${vec ? `vec4<f32>, ${D / 4}` : `f32, ${D}`}>;
var<workgroup> red: array<f32, ${WG}>;
var<workgroup> acc: array<f32, ${groups * D}>;
${grouped ? `var<workgroup> part: array<f32, ${WG}>;` : ''}

/** Gemma-2's logit soft-capping, c·tanh(s/c) (tanh's argument clamped where it is ±1 in f32); c = 0: none. */
fn capped(s: f32, c: f32) -> f32 {
  if (c > 0.0) { return c * tanh(clamp(s / c, -15.0, 15.0)); }
  return s;
}

fn reduce(x: f32, lid: u32, isMax: bool) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = select(red[lid] + red[lid + s], max(red[lid], red[lid + s]), isMax); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let H = params[1]; let Hkv = params[2]; let C = params[3]; let L = params[4];
  let scale = bitcast<f32>(params[5]); let softcap = bitcast<f32>(params[6]);
  ${split ? `let S = params[7]; let bh = wg_flat / S; let chunk = wg_flat % S;
  let j0 = chunk * params[8]; let j1 = min(L, j0 + params[8]);` : 'let bh = wg_flat; let j0 = 0u; let j1 = L;'}
  let b = bh / H; let h = bh % H;
  let kb = (b * Hkv + h / (H / Hkv)) * C * ${D}u;
  let pb = bh * L;
  ${vec
    ? `for (var d = lid.x; d < ${D / 4}u; d += ${WG}u) { let e = bh * ${D}u + 4u * d; qs[d] = vec4<f32>(q[e], q[e + 1u], q[e + 2u], q[e + 3u]); }`
    : `for (var d = lid.x; d < ${D}u; d += ${WG}u) { qs[d] = q[bh * ${D}u + d]; }`}
  workgroupBarrier();
  ${grouped ? scoresByLaneGroups(D) : `var m = ${HIDDEN};
  for (var j = j0 + lid.x; j < j1; j += ${WG}u) {
    var s = ${HIDDEN};
    if (visible[b * L + j] > 0.0) {
      ${dot}
      s = capped(sc * scale, softcap);
    }
    p[pb + j] = s;
    m = max(m, s);
  }`}
  // Each score was written by the thread that reads it below (v0), or by its group's first lane
  // (v1): make them visible to every thread first.
  storageBarrier();
  let top = reduce(m, lid.x, true);
  var l = 0.0;
  for (var j = j0 + lid.x; j < j1; j += ${WG}u) {
    let s = p[pb + j];
    let e = select(0.0, exp(s - top), s > ${HIDDEN});
    p[pb + j] = e;
    l += e;
  }
  let total = reduce(l, lid.x, false);
  storageBarrier();
  workgroupBarrier();
  let g = lid.x / ${lanes}u; let lane = lid.x % ${lanes}u;
  if (g < ${groups}u) {
    for (var d = lane; d < ${D}u; d += ${lanes}u) {
      var a = 0.0;
      for (var j = j0 + g; j < j1; j += ${groups}u) { a += p[pb + j] * v[kb + j * ${D}u + d]; }
      acc[g * ${D}u + d] = a;
    }
  }
  workgroupBarrier();
  for (var d = lid.x; d < ${D}u; d += ${WG}u) {
    var a = 0.0;
    for (var gg = 0u; gg < ${groups}u; gg++) { a += acc[gg * ${D}u + d]; }
    ${split ? `o[wg_flat * ${D + 2}u + d] = a;` : `o[bh * ${D}u + d] = select(0.0, a / total, total > 0.0);`}
  }
  ${split ? `if (lid.x == 0u) { o[wg_flat * ${D + 2}u + ${D}u] = top; o[wg_flat * ${D + 2}u + ${D + 1}u] = total; }` : ''}
}`;
}

/**
 * v2's second launch: one thread per (row, head, d) rescales each chunk's partial to the largest
 * chunk maximum M (exp(mₛ − M); a chunk that saw nothing has sum 0 and adds nothing) and divides by
 * the rescaled sum: the online softmax's merge. params: [B·H·D, S]; D baked in.
 */
function combineSource(D: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(${WG})
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * ${WG}u + lid.x;
  if (i >= params[0]) { return; }
  let S = params[1];
  let bh = i / ${D}u; let d = i % ${D}u;
  var top = ${HIDDEN};
  for (var s = 0u; s < S; s++) { top = max(top, part[(bh * S + s) * ${D + 2}u + ${D}u]); }
  var total = 0.0; var a = 0.0;
  for (var s = 0u; s < S; s++) {
    let at = (bh * S + s) * ${D + 2}u;
    let w = exp(part[at + ${D}u] - top);
    total += w * part[at + ${D + 1}u];
    a += w * part[at + d];
  }
  o[i] = select(0.0, a / total, total > 0.0);
}`;
}

const combineShader = memoShader(combineSource);

/** v2's columns per workgroup: one per thread. */
export const DECODE_SPLIT_COLUMNS = WG;

const attentionShader = memoShader(attentionSource);

export function registerDecodeWebGPU(): void {
  registerKernel<CacheWriteAttrs>('cacheWrite', 'webgpu', (dev, inputs, { offset, count }) => {
    const device = dev as WebGPUDevice;
    const [caches, srcs] = [inputs.slice(0, count), inputs.slice(count)];
    const n = cacheWriteColumns(caches.map((c) => c.shape), srcs.map((s) => s.shape), offset);
    const [B, Hkv, C, D] = caches[0].shape;
    const total = B * Hkv * n * D;
    if (total > 0) {
      const meta = new Meta().u32(total, n, C, D, offset).build();
      device.dispatch({ name: 'cacheWrite', code: writeShader(count), meta, inputs: srcs.map((s) => s.storage), outputs: caches.map((c) => c.storage), workgroups: grid1d(Math.ceil((count * total) / WG)) });
    }
    return [];
  });
  registerKernel<RotateAndCacheAttrs>('rotateAndCache', 'webgpu', (dev, [q, k, v, kCache, vCache, positions, invFreq], { offset, rotaryDim }) => {
    const device = dev as WebGPUDevice;
    const [lq, lk] = ropePairLayout(q, k, positions, invFreq, rotaryDim);
    cacheWriteColumns([kCache.shape, vCache.shape], [k.shape, v.shape], offset);
    for (const x of [q, k, v, kCache, vCache, invFreq]) wgslType(x.dtype);
    const qr = device.alloc(q.dtype, sizeOf(q.shape));
    const w = lq.headDim - lq.half;
    const nq = (sizeOf(q.shape) / lq.headDim) * w, nk = (sizeOf(k.shape) / lk.headDim) * w, total = nq + nk + sizeOf(v.shape);
    if (total > 0) {
      const meta = new Meta().u32(total, w, lq.half, lq.headDim, lq.seq, lq.heads * lq.seq, lq.perBatch ? 1 : 0).f32(1).u32(nq, lk.heads * lk.seq, nk, kCache.shape[2], offset).build();
      device.dispatch({ name: 'rotateAndCache', code: ROTATE_AND_CACHE, meta, inputs: [q.storage, k.storage, v.storage, positions.storage, invFreq.storage], outputs: [qr, kCache.storage, vCache.storage], workgroups: grid1d(Math.ceil(total / ROPE_WG)) });
    }
    return [{ storage: qr, shape: q.shape, dtype: q.dtype }];
  });
  registerKernel<DecodeAttentionAttrs>('decodeAttention', 'webgpu', (dev, [q, k, v, visible], { scale, softcap, version = 0 }) => {
    const device = dev as WebGPUDevice;
    const { B, H, Hkv, C, D, L } = decodeDims(q.shape, k.shape, v.shape, visible.shape);
    const o = device.alloc('float32', B * H * D);
    if (B * H * D > 0) {
      const p = device.alloc('float32', Math.max(1, B * H * L));
      const meta = new Meta().u32(B, H, Hkv, C, L).f32(scale, softcap);
      const inputs = [q.storage, k.storage, v.storage, visible.storage];
      if (version === 2) {
        // Chunks of DECODE_SPLIT_COLUMNS columns, a workgroup each; their partials merged by a second launch.
        const S = Math.max(1, Math.ceil(L / DECODE_SPLIT_COLUMNS));
        const part = device.alloc('float32', B * H * S * (D + 2));
        meta.u32(S, DECODE_SPLIT_COLUMNS);
        device.dispatch({ name: 'decodeAttention v2', code: attentionShader(D, 2), meta: meta.build(), inputs, outputs: [part, p], workgroups: grid1d(B * H * S) });
        device.dispatch({ name: 'decodeAttention v2 merge', code: combineShader(D), meta: new Meta().u32(B * H * D, S).build(), inputs: [part], outputs: [o], workgroups: grid1d(Math.ceil((B * H * D) / WG)) });
        device.release(part);
      } else {
        device.dispatch({ name: `decodeAttention v${version}`, code: attentionShader(D, version), meta: meta.build(), inputs, outputs: [o, p], workgroups: grid1d(B * H) });
      }
      device.release(p);
    }
    return [{ storage: o, shape: [B, H, 1, D], dtype: 'float32' }];
  });
}
