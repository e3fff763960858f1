// WGSL matmul, as a ladder of kernel versions (llm.c's habit): each rung is kept, selectable with
// the `version` attribute, so benchmarks can show what every step bought.
//
// v0 naive: one thread per output element, K-loop straight from global memory.
// v1 tiled: each workgroup computes a BM×BN block of C. Per K-step of BK, the workgroup stages a
//   BM×BK block of op(A) and a BK×BN block of op(B) in workgroup memory (bounds-checked: zeros past
//   the edges), then each thread accumulates a TM×TN sub-block in registers from them. Threads own
//   rows lid.y + i·WY and columns lid.x + j·WX (strided, not contiguous), so neighbouring threads
//   read neighbouring workgroup-memory words and write neighbouring output words. Transposes only
//   change the load phase: the staging loop walks whichever index is contiguous in memory.
// v2 tiled, larger blocks (128×128, 8×8 per thread): more reuse per load, for big matrices on GPUs
//   with many registers.
// v3-v7 vec4 (vec4.ts): vec4 global loads and stores where the contiguous dimension is a multiple
//   of 4 (checked scalar loads otherwise, per operand; every shape and transpose runs), k-major
//   vec4 staging tiles read as vec4 in an outer-product inner loop, the next K tile loaded into
//   registers during the current one's FMAs and stored into a second staging buffer. v3: 64×64×16
//   blocks, 4×4 per thread; v4: 128×128×8, 8×8 per thread; v5: v4 with K split into up to 16
//   slices when the output has under 256 blocks (partial products in a scratch buffer, summed by
//   a second kernel). v6: v3's 64×64×16 block with split-K when the output has under 512 such
//   blocks; v7: 32×64×16 blocks of 128 threads (4×4 each: twice v3's workgroups for an output), with
//   split-K under 1024 such blocks. Split-K slices are at least 128 deep (a multiple of BK).
// v12 skinny (skinny.ts): few rows of A (a decoding step), lanes along K reading B's rows at full
//   width; also reads a bfloat16 or NF4 B as stored ('matmulStored').
// With no version asked for, chooseMatmulVersion picks by shape (v0 for thin or tiny outputs).
// Every rung fits WebGPU's default limits (256 invocations, 16 KiB of workgroup memory); dispatch
// still checks the device's (matmulVersionFits).
//
// The shader source depends only on the version and the transpose flags (M, N, K and batch strides
// are in `params`), so the pipeline cache holds at most 4 pipelines per version for v0-v2; the
// vec4 rungs add which operands are vec4-aligned (at most 20 per version: 4 for each transpose
// combination, 8 when both are transposed), and split-K its two sum shaders (vec4 and scalar).
// params: [M, N, K, strideA, strideB, strideC, batchOffset] (the vec4 rungs add [S, kChunk]).
// Batch entries (times K splits) run along the grid's z dimension, in launches of at most 65535.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { MAX_WORKGROUPS_PER_DIM, Meta, grid1d, memoShader } from '../wgsl.js';
import { type GatedMatmulAttrs, type GroupMatmulAttrs, type MatmulAttrs, type MatmulLayout, type StoredMatmulAttrs, groupMatmulDims, matmulLayout, storedMatmulLayout } from './contract.js';
import { checkMatmulDtypes, groupParts } from './cpu.js';
import { SKINNY_MAX_ROWS, SKINNY_ROWS, SKINNY_THREADS, dispatchSkinny, dispatchSkinnyGated, dispatchSkinnyGroup, skinnyFast, skinnyWorkgroupBytes } from './skinny.js';
import { type Vec4TileConfig, splitKReduceShader, vec4Alignment, vec4Invocations, vec4Shader, vec4Splits, vec4WorkgroupBytes } from './vec4.js';

export interface TileConfig {
  /** Rows / columns of C per workgroup. */
  BM: number;
  BN: number;
  /** K-slice staged per step. */
  BK: number;
  /** Rows / columns of C per thread. */
  TM: number;
  TN: number;
}

export interface MatmulVersion {
  version: number;
  name: string;
  /** The scalar tiled kernels (v1, v2). */
  tile?: TileConfig;
  /** The vec4 tiled kernels (v3-v11). Neither tile nor vec4 nor skinny: the naive kernel. */
  vec4?: Vec4TileConfig;
  /** The skinny kernel (skinny.ts): few rows of A, bound by reading B. */
  skinny?: true;
}

export const MATMUL_VERSIONS: readonly MatmulVersion[] = [
  { version: 0, name: 'naive: one thread per output' },
  { version: 1, name: 'tiled 64×64×16, 4×4 per thread', tile: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 } },
  { version: 2, name: 'tiled 128×128×16, 8×8 per thread', tile: { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 } },
  { version: 3, name: 'vec4 64×64×16, 4×4 per thread', vec4: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, doubleBuffer: true } },
  { version: 4, name: 'vec4 128×128×8, 8×8 per thread', vec4: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, doubleBuffer: true } },
  {
    version: 5,
    name: 'vec4 128×128×8, 8×8 per thread, split-K',
    vec4: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, doubleBuffer: true, splitK: { targetWorkgroups: 256, minK: 128 } },
  },
  {
    version: 6,
    name: 'vec4 64×64×16, 4×4 per thread, split-K',
    vec4: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, doubleBuffer: true, splitK: { targetWorkgroups: 512, minK: 128 } },
  },
  {
    version: 7,
    name: 'vec4 32×64×16, 4×4 per thread, split-K',
    vec4: { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4, doubleBuffer: true, splitK: { targetWorkgroups: 1024, minK: 128 } },
  },
  {
    version: 8,
    name: 'vec4 128×128×16, 8×8 per thread, one buffer, split-K',
    vec4: { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, doubleBuffer: false, splitK: { targetWorkgroups: 256, minK: 128 } },
  },
  { version: 9, name: 'vec4 128×64×16, 8×4 per thread, one buffer', vec4: { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4, doubleBuffer: false } },
  {
    version: 10,
    name: 'vec4 128×64×8, 8×8 per thread, split-K',
    vec4: { BM: 128, BN: 64, BK: 8, TM: 8, TN: 8, doubleBuffer: true, splitK: { targetWorkgroups: 512, minK: 128 } },
  },
  {
    version: 11,
    name: 'vec4 128×128×16, 8×8 per thread, one buffer, split-K to 384 workgroups',
    vec4: { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, doubleBuffer: false, splitK: { targetWorkgroups: 384, minK: 128 } },
  },
  { version: 12, name: 'skinny: 32 lanes along K per column, ≤ 8 rows per workgroup', skinny: true },
];

/**
 * The vec4 rungs by role, for picking a default from measured numbers (chooseMatmulVersion does
 * not use them yet: v1/v2 stay the default until the vec4 rungs have been timed on a GPU).
 */
export const MATMUL_VEC4_SMALL_BLOCK = 3;
export const MATMUL_VEC4_LARGE_BLOCK = 4;
export const MATMUL_VEC4_SPLIT_K = 5;
/** v3's 64×64 block with split-K (for outputs of under 512 such blocks). */
export const MATMUL_VEC4_SMALL_BLOCK_SPLIT_K = 6;
/** 32×64 blocks of 128 threads, with split-K (for outputs of under 1024 such blocks). */
export const MATMUL_VEC4_TINY_BLOCK_SPLIT_K = 7;
/** 128×128×16 blocks staged once per K tile (16 KiB), split-K under 256 blocks. */
export const MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER = 8;
/** 128×64×16 blocks, 8×4 per thread, staged once per K tile. */
export const MATMUL_VEC4_TALL_BLOCK = 9;
/** 128×64×8 blocks of 128 threads (8×8 each), split-K under 512 blocks. */
export const MATMUL_VEC4_TALL_BLOCK_SPLIT_K = 10;
/** v8's kernel, splitting K into as many slices as make 384 workgroups (for outputs of about one wave of blocks). */
export const MATMUL_VEC4_LARGE_BLOCK_SPLIT_384 = 11;
/** Few rows of A (a decoding step): 32 lanes per output column read B's row at full width. */
export const MATMUL_SKINNY = 12;

/** What a kernel's shader needs of the device: invocations per workgroup and workgroup memory. */
export function matmulKernelNeeds(v: MatmulVersion): { invocations: number; workgroupBytes: number } {
  if (v.vec4) return { invocations: vec4Invocations(v.vec4), workgroupBytes: vec4WorkgroupBytes(v.vec4) };
  if (v.skinny) return { invocations: SKINNY_THREADS, workgroupBytes: skinnyWorkgroupBytes(SKINNY_ROWS, 'float32') };
  if (v.tile) {
    const { BM, BN, BK, TM, TN } = v.tile;
    return { invocations: (BM / TM) * (BN / TN), workgroupBytes: BK * (BM + BN) * 4 };
  }
  return { invocations: NAIVE_WG * NAIVE_WG, workgroupBytes: 0 };
}

function ladderRung(version: number): MatmulVersion {
  const v = MATMUL_VERSIONS[version];
  if (!v) throw new Error(`matmul: no kernel version ${version} (have 0..${MATMUL_VERSIONS.length - 1})`);
  return v;
}

/** What a version's shader needs of the device: invocations per workgroup and workgroup memory. */
export function matmulVersionNeeds(version: number): { invocations: number; workgroupBytes: number } {
  return matmulKernelNeeds(ladderRung(version));
}

type FitLimits = Pick<GPUSupportedLimits, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupStorageSize'>;

/** Whether a kernel runs within these device limits. */
export function matmulKernelFits(v: MatmulVersion, limits: FitLimits): boolean {
  const n = matmulKernelNeeds(v);
  return n.invocations <= limits.maxComputeInvocationsPerWorkgroup && n.workgroupBytes <= limits.maxComputeWorkgroupStorageSize;
}

/** Whether a version runs within these device limits (every version fits WebGPU's defaults). */
export function matmulVersionFits(version: number, limits: FitLimits): boolean {
  return matmulKernelFits(ladderRung(version), limits);
}

/**
 * The version run when none is asked for, from H200 timings (Dawn/Vulkan, bench/results/
 * nvidia-*-only-launch-matmul.md, wall ms per launch and GPU ms; the screening sweep in
 * nvidia-*-matmul-sweep.md):
 * - thin or tiny outputs (min(M, N) < 16, or under a quarter of a 64×64 block): v0. The tiled
 *   kernels leave most of their threads on padding there; 65537 products of 1×2 by 2×3 took 7.6 s
 *   with v1 and 0.17 s with v0 (lavapipe).
 * - 256 or more 128×128 blocks (about two waves on the H200's 132 SMs): v8, which does not split
 *   there (4096³: 3.65 ms against v4's 3.98).
 * - 128 to 255 such blocks: v11, v8's kernel with K split 3 or 2 ways. Two of these workgroups fit
 *   an SM at once, so the H200 runs 264 at a time, and the count of rounds rather than of blocks
 *   sets the time: 512×2048×5632 has 176 blocks, which v8 splits into 352 workgroups (two rounds,
 *   the second a third full; 0.473 ms GPU time) and v11 into 528 (two full rounds of a third of K
 *   each; 0.334 ms; v9's 352 blocks of 128×64, 0.383 ms). Screened in
 *   bench/results/nvidia-*-matmul-sweep.md.
 * - fewer: v8 splits K to fill the GPU (1024³: 0.077 ms against v5's 0.086 and v3's 0.101;
 *   512×5632×2048: 0.337 against v5's 0.371), unless even its deepest split stays under one
 *   round of 264 workgroups: then v10's 128×64 blocks (512×576×1536, 48 blocks, K = 576: v10
 *   0.047 and 0.043 ms against v8's 0.052 and 0.048 in two runs; v10 was not yet the default
 *   there in a run).
 * - before all of these: under 528 blocks (two rounds), when M or N leaves 10% or more of the
 *   128×128 blocks as padding, v10. Screened at the train step's projections (SmolLM-135M, 8192
 *   tokens; bench/results/nvidia-*-matmul-sweep-step-shapes.md, -ta.md, -tb.md), v10 against the
 *   rule before: 8192×576×576 0.210 ms against v8's 0.255 (X·Wᵀ: 0.221 against 0.265);
 *   8192×1536×576 0.559 against 1.226 (0.532 against 0.789); 8192×576×192 0.099 against v11's
 *   0.115 (v9: 0.081); weight gradients (Aᵀ) 576×8192×576 0.239 against 0.266, 576×8192×1536
 *   0.510 against 0.567. Big outputs keep v8: there v10's lower rate outweighs the padding
 *   (4096³: 4.49 ms against 3.58).
 * - first of all: a decoding step (at most 16 rows, X·Wᵀ, K a multiple of 8, N ≥ 16, K ≥ 64): v12,
 *   the skinny kernel (skinny.ts), whose 32 lanes per column read the weight's rows contiguously
 *   where v0's threads each walk their own row. Chosen from that access pattern; on lavapipe
 *   1.2-2.4× as fast as TF.js and 0.6-2.1× as fast as v0 over three runs (docs/kernels.md); not yet
 *   timed on a GPU.
 * On lavapipe (a CPU) the big blocks win from much smaller sizes, but lavapipe is not the target for
 * speed.
 */
export function chooseMatmulVersion(l: MatmulLayout, transposeA = false, transposeB = false): number {
  if (l.M <= SKINNY_MAX_ROWS && l.N >= 16 && l.K >= 64 && skinnyFast('float32', l.K, transposeA, transposeB)) return MATMUL_SKINNY;
  if (Math.min(l.M, l.N) < 16 || l.M * l.N <= 1024) return 0;
  const blocks128 = Math.ceil(l.M / 128) * Math.ceil(l.N / 128) * l.batch;
  // Under two rounds of v8 blocks, with 10% or more of them padding (SmolLM's 576 and 192 wide
  // projections): v10.
  const padding = (x: number) => (Math.ceil(x / 128) * 128 - x) / x;
  if (blocks128 < 528 && Math.max(padding(l.M), padding(l.N)) >= 0.1) return MATMUL_VEC4_TALL_BLOCK_SPLIT_K;
  if (blocks128 >= 128 && blocks128 < 256) return MATMUL_VEC4_LARGE_BLOCK_SPLIT_384;
  // Even v8's deepest split (slices of 128, at most 16) leaves it under one round of 264
  // workgroups: the half-height blocks of v10 give twice as many.
  if (blocks128 * Math.min(16, Math.floor(l.K / 128)) < 264) return MATMUL_VEC4_TALL_BLOCK_SPLIT_K;
  return MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER;
}

const HEADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;`;

const PROLOGUE = /* wgsl */ `
  let M = params[0]; let N = params[1]; let K = params[2];
  let z = wid.z + params[6];
  let a0 = z * params[3]; let b0 = z * params[4]; let c0 = z * params[5];`;

/** Offsets of op(A)[m, k] and op(B)[k, n] in the stored operands. */
function aIndex(tA: boolean, m: string, k: string): string {
  return tA ? `a0 + (${k}) * M + (${m})` : `a0 + (${m}) * K + (${k})`;
}
function bIndex(tB: boolean, k: string, n: string): string {
  return tB ? `b0 + (${n}) * K + (${k})` : `b0 + (${k}) * N + (${n})`;
}

const NAIVE_WG = 16;

function naiveShaderSource(tA: boolean, tB: boolean): string {
  return /* wgsl */ `${HEADER}
@compute @workgroup_size(${NAIVE_WG}, ${NAIVE_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {${PROLOGUE}
  let row = wid.y * ${NAIVE_WG}u + lid.y;
  let col = wid.x * ${NAIVE_WG}u + lid.x;
  if (row >= M || col >= N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < K; k++) { acc += a[${aIndex(tA, 'row', 'k')}] * b[${bIndex(tB, 'k', 'col')}]; }
  c[c0 + row * N + col] = acc;
}`;
}

function tiledShaderSource(cfg: TileConfig, tA: boolean, tB: boolean): string {
  const { BM, BN, BK, TM, TN } = cfg;
  const WX = BN / TN, WY = BM / TM, NT = WX * WY;
  const check = (ok: boolean, why: string) => {
    if (!ok) throw new Error(`matmul tile config ${JSON.stringify(cfg)}: ${why}`);
  };
  check(Number.isInteger(WX) && Number.isInteger(WY), 'BM/TM and BN/TN must be integers');
  check(NT <= 256, 'at most 256 threads per workgroup (the WebGPU default limit)');
  check(NT % BK === 0 && NT % BM === 0 && NT % BN === 0 && (BM * BK) % NT === 0 && (BN * BK) % NT === 0,
    'the staging loops need the thread count to divide the tiles and be a multiple of BM, BN and BK');

  // Staging: load r of each thread handles tile element li + r·NT. The index that is contiguous in
  // memory varies fastest across threads, so a row of threads reads one run of memory.
  const stage = (tile: 'As' | 'Bs', along: number, transposed: boolean): string => {
    const isA = tile === 'As';
    // Untransposed A and transposed B are contiguous along k; the other two along m / n.
    const kFastest = isA ? !transposed : transposed;
    const lines: string[] = [];
    const loads = (along * BK) / NT;
    for (let r = 0; r < loads; r++) {
      const [kk, xx] = kFastest
        ? [`li % ${BK}u`, `li / ${BK}u + ${(r * NT) / BK}u`]
        : [`li / ${along}u + ${(r * NT) / along}u`, `li % ${along}u`];
      const g = isA ? 'row0' : 'col0';
      const lim = isA ? 'M' : 'N';
      const src = isA ? `a[${aIndex(transposed, 'x', 'k')}]` : `b[${bIndex(transposed, 'k', 'x')}]`;
      lines.push(`{ let kk = ${kk}; let xx = ${xx}; let k = k0 + kk; let x = ${g} + xx;
      var v = 0.0;
      if (x < ${lim} && k < K) { v = ${src}; }
      ${tile}[kk * ${along}u + xx] = v; }`);
    }
    return lines.join('\n    ');
  };

  const decl: string[] = [], fma: string[] = [], store: string[] = [], ra: string[] = [], rb: string[] = [];
  for (let i = 0; i < TM; i++) ra.push(`let ra${i} = As[kk * ${BM}u + lid.y + ${i * WY}u];`);
  for (let j = 0; j < TN; j++) rb.push(`let rb${j} = Bs[kk * ${BN}u + lid.x + ${j * WX}u];`);
  for (let i = 0; i < TM; i++) {
    for (let j = 0; j < TN; j++) {
      decl.push(`var acc${i}_${j} = 0.0;`);
      fma.push(`acc${i}_${j} += ra${i} * rb${j};`);
    }
    const row = `row0 + lid.y + ${i * WY}u`;
    store.push(`{ let row = ${row}; if (row < M) {
${Array.from({ length: TN }, (_, j) => `    { let col = col0 + lid.x + ${j * WX}u; if (col < N) { c[c0 + row * N + col] = acc${i}_${j}; } }`).join('\n')}
  } }`);
  }

  return /* wgsl */ `${HEADER}
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;
@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {${PROLOGUE}
  let row0 = wid.y * ${BM}u;
  let col0 = wid.x * ${BN}u;
  ${decl.join(' ')}
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
    ${stage('As', BM, tA)}
    ${stage('Bs', BN, tB)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      ${ra.join(' ')}
      ${rb.join(' ')}
      ${fma.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${store.join('\n  ')}
}`;
}

function shaderFor(v: MatmulVersion, l: MatmulLayout, tA: boolean, tB: boolean): { code: string; rows: number; cols: number } {
  if (v.vec4) return { code: vec4Shader(v.vec4, tA, tB, vec4Alignment(l, tA, tB)), rows: v.vec4.BM, cols: v.vec4.BN };
  if (!v.tile) return { code: naiveShader(tA, tB), rows: NAIVE_WG, cols: NAIVE_WG };
  return { code: tiledShader(v.tile, tA, tB), rows: v.tile.BM, cols: v.tile.BN };
}

/** Set by setMatmulVersion; undefined: chooseMatmulVersion's choice per shape. */
let versionOverride: number | undefined;

/**
 * Forces the ladder rung of every later float32 product that does not name its own version (to
 * compare rungs across a whole model, or to pin one on an adapter where the default misbehaves), or
 * restores the per-shape default (undefined). The skinny rung serves few rows only: it is chosen by
 * shape, never forced.
 */
export function setMatmulVersion(version: number | undefined): void {
  if (version !== undefined) {
    ladderRung(version);
    if (version === MATMUL_SKINNY) throw new Error(`setMatmulVersion: v${version} (the skinny rung) is chosen per shape, for at most ${SKINNY_MAX_ROWS} rows; force a tiled rung`);
  }
  versionOverride = version;
}

/** The ladder's rungs by number and name (docs/kernels.md times them). */
export function listMatmulVersions(): { version: number; name: string }[] {
  return MATMUL_VERSIONS.map((v) => ({ version: v.version, name: v.name }));
}

/**
 * Queues C = op(A)·op(B) with a given layout into `out` with the version asked for (or the one
 * setMatmulVersion forces, or the default for the shape).
 */
export function dispatchMatmul(device: WebGPUDevice, a: TensorInfo, b: TensorInfo, out: TensorInfo, l: MatmulLayout, attrs: MatmulAttrs = {}): void {
  const { transposeA = false, transposeB = false, version = versionOverride ?? chooseMatmulVersion(l, transposeA, transposeB) } = attrs;
  dispatchMatmulKernel(device, a, b, out, l, ladderRung(version), transposeA, transposeB);
}

/**
 * Queues C = op(A)·op(B) with one kernel (a ladder rung, or any tile configuration, as the tuning
 * sweep in bench/matmul-sweep.ts tries): one dispatch per 65535 batch entries (times K slices,
 * when a split-K kernel splits), then the split-K sum when it does.
 */
export function dispatchMatmulKernel(device: WebGPUDevice, a: TensorInfo, b: TensorInfo, out: TensorInfo, l: MatmulLayout, v: MatmulVersion, transposeA = false, transposeB = false): void {
  if (l.batch * l.M * l.N === 0) return;
  if (!matmulKernelFits(v, device.limits)) {
    const n = matmulKernelNeeds(v);
    throw new Error(`matmul v${v.version} (${v.name}) needs ${n.invocations} invocations and ${n.workgroupBytes} bytes of workgroup memory per workgroup; this device allows ${device.limits.maxComputeInvocationsPerWorkgroup} and ${device.limits.maxComputeWorkgroupStorageSize}`);
  }
  if (v.skinny) return dispatchSkinny(device, a, [b.storage], out, l, 'float32', transposeA, transposeB);
  const { code, rows, cols } = shaderFor(v, l, transposeA, transposeB);
  const gx = Math.ceil(l.N / cols), gy = Math.ceil(l.M / rows);
  if (gx > MAX_WORKGROUPS_PER_DIM || gy > MAX_WORKGROUPS_PER_DIM) {
    throw new Error(`matmul: an output of ${l.M}×${l.N} needs ${gy}×${gx} workgroups, over WebGPU's ${MAX_WORKGROUPS_PER_DIM} per dimension`);
  }
  const name = `matmul v${v.version}${transposeA ? ' Aᵀ' : ''}${transposeB ? ' Bᵀ' : ''}`;
  const vec4 = v.vec4;
  // The vec4 rungs may split K (S > 1): grid z runs over batch·S into a scratch buffer of S
  // partial products per entry, then splitKReduceShader sums them into out.
  const { S, kChunk } = vec4 ? vec4Splits(vec4, l, device.limits.maxStorageBufferBindingSize) : { S: 1, kChunk: l.K };
  const target = S === 1 ? out.storage : device.alloc('float32', l.batch * S * l.M * l.N);
  const zTotal = l.batch * S;
  for (let z0 = 0; z0 < zTotal; z0 += MAX_WORKGROUPS_PER_DIM) {
    const gz = Math.min(MAX_WORKGROUPS_PER_DIM, zTotal - z0);
    const words = new Meta().u32(l.M, l.N, l.K, l.strideA, l.strideB, l.strideC, z0);
    if (vec4) words.u32(S, kChunk);
    device.dispatch({ name, code, meta: words.build(), inputs: [a.storage, b.storage], outputs: [target], workgroups: [gx, gy, gz] });
  }
  if (S > 1) {
    const vec = (l.M * l.N) % 4 === 0, w = vec ? 4 : 1;
    const total = (l.batch * l.M * l.N) / w;
    const meta = new Meta().u32((l.M * l.N) / w, S, total).build();
    device.dispatch({ name: `${name} split-K sum`, code: splitKReduceShader(vec), meta, inputs: [target], outputs: [out.storage], workgroups: grid1d(Math.ceil(total / 256)) });
    device.release(target);
  }
}

/** The 'matmul' kernel on WebGPU: allocates the output and runs the chosen version. */
export function launchMatmul(device: WebGPUDevice, a: TensorInfo, b: TensorInfo, attrs: MatmulAttrs = {}): TensorInfo {
  checkMatmulDtypes(a, b);
  const l = matmulLayout(a.shape, b.shape, attrs.transposeA, attrs.transposeB);
  const out: TensorInfo = { storage: device.alloc(a.dtype, l.batch * l.M * l.N), shape: l.outShape, dtype: a.dtype };
  dispatchMatmul(device, a, b, out, l, attrs);
  return out;
}

export function registerMatmulWebGPU(): void {
  registerKernel<MatmulAttrs>('matmul', 'webgpu', (device, [a, b], attrs) => [launchMatmul(device as WebGPUDevice, a, b, attrs)]);
  // A frozen low-precision weight read as stored, by the skinny kernel (the op sends it few rows).
  registerKernel<StoredMatmulAttrs>('matmulStored', 'webgpu', (dev, [x, ...parts], attrs) => {
    const device = dev as WebGPUDevice;
    if (x.dtype !== 'float32') throw new Error(`matmulStored: x must be float32 on WebGPU, got ${x.dtype}`);
    const l = storedMatmulLayout(x.shape, attrs);
    const out: TensorInfo = { storage: device.alloc('float32', l.M * l.N), shape: l.outShape, dtype: 'float32' };
    dispatchSkinny(device, x, parts.map((p) => p.storage), out, l, attrs.format, false, attrs.transposeB);
    return [out];
  });
  // Several weights sharing x (a layer's q/k/v, gate/up), one skinny launch.
  registerKernel<GroupMatmulAttrs>('matmulGroup', 'webgpu', (dev, [x, ...parts], { format, shapes }) => {
    const device = dev as WebGPUDevice;
    if (x.dtype !== 'float32') throw new Error(`matmulGroup: x must be float32 on WebGPU, got ${x.dtype}`);
    const { M, K, Ns } = groupMatmulDims(x.shape, shapes);
    const outs: TensorInfo[] = Ns.map((N) => ({ storage: device.alloc('float32', M * N), shape: [M, N], dtype: 'float32' }));
    dispatchSkinnyGroup(device, x, groupParts(format, parts).map((w) => w.map((p) => p.storage)), outs, M, K, Ns, format);
    return outs;
  });
  registerKernel<GatedMatmulAttrs>('matmulGated', 'webgpu', (dev, [x, ...parts], { format, shapes, activation }) => {
    const device = dev as WebGPUDevice;
    if (x.dtype !== 'float32') throw new Error(`matmulGated: x must be float32 on WebGPU, got ${x.dtype}`);
    const { M, K, Ns: [N] } = groupMatmulDims(x.shape, shapes);
    const [gate, up] = groupParts(format, parts).map((w) => w.map((p) => p.storage));
    const out: TensorInfo = { storage: device.alloc('float32', M * N), shape: [M, N], dtype: 'float32' };
    dispatchSkinnyGated(device, x, gate, up, out, M, K, N, format, activation);
    return [out];
  });
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
export const naiveShader = memoShader(naiveShaderSource);
export const tiledShader = memoShader(tiledShaderSource);
