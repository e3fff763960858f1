// The vec4 rungs of the matmul ladder (v3-v7): the tiled kernel rewritten for GPUs whose cost is
// in memory instructions rather than arithmetic (NVIDIA through Dawn/Vulkan in particular).
//
// What changes from the scalar tiled kernels (v1, v2):
// - Global loads are vec4<f32> along whichever dimension of the operand is contiguous in memory
//   (k for untransposed A and transposed B, m / n for the other two), one bounds check per vec4.
//   That needs the contiguous dimension to be a multiple of 4 (then every vec4 is 16-byte aligned
//   and wholly inside or wholly outside the matrix); an operand whose contiguous dimension is not
//   gets the same shader with four bounds-checked scalar loads per vec4 instead. The choice is per
//   operand, so e.g. A can take the vec4 path while B (N odd) does not. C is written as vec4 when
//   N is a multiple of 4, else as four checked scalars. Every shape and transpose combination is
//   supported; the alignment only changes which loads and stores are used.
// - Staging in workgroup memory is k-major for both operands (As[k][m], Bs[k][n], as vec4 rows),
//   so the inner product reads A and B as vec4s: per k step a thread reads TM/4 + TN/4 vec4s and
//   does TM·TN FMAs (an outer product). m-/n-contiguous tiles are stored as loaded (one vec4
//   store, consecutive threads on consecutive vec4s); k-contiguous tiles (untransposed A,
//   transposed B) are transposed on the way in by four scalar stores, pairs of threads covering
//   one 32-byte sector of a row, with every other group of 4 k-rows XOR-swizzled so that the
//   stores, like the vec4 reads, are free of bank conflicts (no padding: the 16 KiB limit is
//   already full).
// - Each thread owns a TM×TN block made of 4×4 sub-blocks: rows 4·(ty + WY·i) + 0..3 and columns
//   4·(tx + WX·j) + 0..3. Neighbouring threads (tx) read neighbouring vec4s of Bs and write
//   neighbouring vec4s of C; a warp spans only WX-wide rows of threads (two ty for WX = 16), so
//   its reads of As are broadcasts of one or two vec4s.
// - The staging tiles are indexed [buffer][k][i][ty] rather than flat: Dawn clamps every dynamic
//   array index, and this way the inner loop's only dynamic indices are the loop-invariant ty / tx
//   (clamped once, outside the loop) while k and i are constants folded into the address.
// - Double buffering: the next K tile is loaded into registers before the current one is
//   computed (the global loads are in flight during the FMAs), then stored into the other of two
//   staging buffers, so one barrier per K tile suffices.
// - Optionally split K (v5-v7): with few output blocks for the GPU, grid z also runs over S slices of
//   K; each writes its partial product to its own copy of C in a scratch buffer, and a second
//   kernel sums the S copies (WGSL has no float atomics).
// params: [M, N, K, strideA, strideB, strideC, zOffset, S, kChunk]: the other rungs' layout plus
// the number of K splits S and the k range of each (a multiple of BK); grid z runs over batch·S
// (z = entry·S + split) and strideC is then the stride between the S·batch partial products.
import type { MatmulLayout } from './contract.js';
import { memoShader } from '../wgsl.js';

export interface Vec4TileConfig {
  /** Rows / columns of C per workgroup (multiples of 4). */
  BM: number;
  BN: number;
  /** K-slice staged per step (a multiple of 8). */
  BK: number;
  /** Rows / columns of C per thread (multiples of 4). */
  TM: number;
  TN: number;
  /** Two staging buffers and one barrier per K tile, instead of one buffer and two barriers. */
  doubleBuffer: boolean;
  /**
   * Split K when the output has few blocks: into as many slices as bring the workgroup count to
   * `targetWorkgroups`, each at least `minK` deep (and at most 16 slices).
   */
  splitK?: { targetWorkgroups: number; minK: number };
  /**
   * Warp-shaped thread layout: the threads of each 32-wide subgroup form a (32 / lanesX) × lanesX
   * patch of the workgroup's thread grid instead of 32 / WX whole rows of it. With lanesX = 8 a
   * warp's reads of a staged k-row are 4 vec4s of As and 8 of Bs (64 + 128 bytes, one shared-memory
   * wavefront each) rather than 2 and 16 (row-major, WX = 16). Unset: row-major (tx = lid.x).
   */
  lanesX?: number;
}

/** How many K slices a launch uses (1: no split), and the depth of each (a multiple of BK). */
export function vec4Splits(cfg: Vec4TileConfig, l: MatmulLayout, maxBindingBytes: number): { S: number; kChunk: number } {
  const blocks = Math.ceil(l.M / cfg.BM) * Math.ceil(l.N / cfg.BN) * l.batch;
  let S = 1;
  if (cfg.splitK && blocks > 0) {
    const byTarget = Math.ceil(cfg.splitK.targetWorkgroups / blocks);
    const byDepth = Math.floor(l.K / cfg.splitK.minK);
    const byMemory = Math.floor(maxBindingBytes / (4 * l.batch * l.M * l.N));
    S = Math.max(1, Math.min(byTarget, byDepth, byMemory, 16));
  }
  if (S === 1) return { S: 1, kChunk: l.K };
  const kChunk = Math.ceil(l.K / S / cfg.BK) * cfg.BK;
  return { S: Math.ceil(l.K / kChunk), kChunk };
}

/**
 * Sums the S partial products of a split-K launch: part [batch, S, M·N] → out [batch, M·N].
 * params: [MN (elements of one product, or vec4s when vec), S, total (batch·MN)]; a 1-D grid of
 * 256-thread workgroups (grid1d).
 */
function splitKReduceShaderSource(vec: boolean): string {
  const t = vec ? 'vec4<f32>' : 'f32';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> part: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let MN = params[0]; let S = params[1];
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= params[2]) { return; }
  let base = (i / MN) * S * MN + i % MN;
  var acc = part[base];
  for (var s = 1u; s < S; s++) { acc += part[base + s * MN]; }
  out[i] = acc;
}`;
}

/** Which operands take the vec4 path (their contiguous dimension is a multiple of 4). */
export interface Vec4Alignment {
  a: boolean;
  b: boolean;
  c: boolean;
}

/**
 * A: contiguous along K (stored [M, K]) or M (transposeA); B: along N or K (transposeB); C: along N.
 * The batch strides are then multiples of 4 too (M·K, K·N, M·N, or 0), so every vec4 is aligned.
 */
export function vec4Alignment(l: Pick<MatmulLayout, 'M' | 'N' | 'K'>, transposeA: boolean, transposeB: boolean): Vec4Alignment {
  return { a: (transposeA ? l.M : l.K) % 4 === 0, b: (transposeB ? l.K : l.N) % 4 === 0, c: l.N % 4 === 0 };
}

/** Bytes of workgroup memory the shader declares (WebGPU's default limit is 16384). */
export function vec4WorkgroupBytes(cfg: Vec4TileConfig): number {
  return (cfg.doubleBuffer ? 2 : 1) * cfg.BK * (cfg.BM + cfg.BN) * 4;
}

/** Invocations per workgroup (WebGPU's default limit is 256). */
export function vec4Invocations(cfg: Vec4TileConfig): number {
  return (cfg.BM / cfg.TM) * (cfg.BN / cfg.TN);
}

const XYZW = ['x', 'y', 'z', 'w'];

function vec4ShaderSource(cfg: Vec4TileConfig, tA: boolean, tB: boolean, al: Vec4Alignment): string {
  const { BM, BN, BK, TM, TN, doubleBuffer } = cfg;
  const WX = BN / TN, WY = BM / TM, NT = WX * WY;
  const check = (ok: boolean, why: string) => {
    if (!ok) throw new Error(`matmul vec4 tile config ${JSON.stringify(cfg)}: ${why}`);
  };
  check([BM, BN, BK, TM, TN].every((v) => Number.isInteger(v) && v > 0 && v % 4 === 0), 'every size must be a positive multiple of 4');
  check(BK % 8 === 0, 'BK must be a multiple of 8 (pairs of threads stage 8 consecutive k of a k-contiguous row)');
  check(BM % TM === 0 && BN % TN === 0, 'TM must divide BM and TN divide BN');
  check(NT <= 256, 'at most 256 threads per workgroup (the WebGPU default limit)');
  check(((BM / 4) * BK) % NT === 0 && ((BN / 4) * BK) % NT === 0, 'the thread count must divide the vec4s of each staged tile');
  const lanesX = cfg.lanesX;
  if (lanesX !== undefined) {
    check([1, 2, 4, 8, 16, 32].includes(lanesX) && WX % lanesX === 0 && WY % (32 / lanesX) === 0, 'lanesX must divide 32 and WX, and 32 / lanesX divide WY');
  }
  const NBUF = doubleBuffer ? 2 : 1;
  // The staging tiles, As[buffer][k][i][ty] (the vec4 of rows 4·(ty + WY·i) + 0..3) and
  // Bs[buffer][k][j][tx]: a k-row of vec4s split so that the inner loop indexes them with constants
  // and one thread-invariant index (Dawn clamps every dynamic array index: this way the clamps are
  // hoisted out of the loop and the constant parts fold into the load's address offset).
  const tileType = (G: number, W: number) => `array<array<array<array<vec4<f32>, ${W}>, ${G}>, ${BK}>, ${NBUF}>`;

  // k-contiguous operands are staged with odd 4-k groups XOR-swizzled (see below). The reads undo
  // it with (t + W·i) ^ 4 = (t ^ 4) + W·i, which needs W = WY (WX) to be a multiple of 8;
  // otherwise the tile is left unswizzled (2-way bank conflicts on the stores).
  const swizzled = (isA: boolean) => (isA ? !tA && WY % 8 === 0 : tB && WX % 8 === 0);
  const swA = swizzled(true), swB = swizzled(false);

  // Staging of one operand: `loads` vec4 registers per thread, loaded from global memory for the
  // tile at k0 (load), then written to workgroup memory (store).
  interface Staging { hoist: string[]; decl: string[]; load: string[]; store: string[] }
  const staging = (isA: boolean): Staging => {
    const along = isA ? BM : BN;
    const S = along / 4; // vec4s per k-row
    const W = isA ? WY : WX;
    const tile = isA ? 'As' : 'Bs';
    const src = isA ? 'a' : 'b';
    const p = isA ? 'ga' : 'gb';
    const lim = isA ? 'M' : 'N';
    const origin = isA ? 'row0' : 'col0';
    const kContig = isA ? !tA : tB;
    const vec = isA ? al.a : al.b;
    const loads = (along * BK) / 4 / NT;
    const swizzle = swizzled(isA);
    const out: Staging = { hoist: [], decl: [], load: [], store: [] };
    for (let r = 0; r < loads; r++) {
      const id = `(li + ${r * NT}u)`;
      const v = `${p}${r}`;
      out.decl.push(`var ${v} = vec4<f32>(0.0);`);
      if (kContig) {
        // Element (x, k) at x·K + k. Pairs of threads read the two vec4s of one 32-byte sector
        // (k = 8·h + 0..7 of tile row xl); a warp covers 16 rows. The stores transpose into the
        // k-major tile: four scalar stores per vec4, at words (4·kq + c)·BM + xl. For one c the
        // warp's two kq (2h, 2h + 1) would hit the same banks, so odd kq rows are XOR-swizzled by
        // 4 vec4s (16 words): q → q ^ 4 for the vec4 index q = xl / 4 (the reads undo it).
        out.hoist.push(`let ${p}xl${r} = (${id} / 2u) % ${along}u; let ${p}kq${r} = ${id} % 2u + ${id} / ${2 * along}u * 2u; let ${p}x${r} = ${origin} + ${p}xl${r};`);
        out.hoist.push(`let ${p}sq${r} = (${p}xl${r} / 4u) ^ ((${p}kq${r} % 2u) * ${swizzle ? 4 : 0}u); let ${p}sc${r} = ${p}xl${r} % 4u;`);
        out.hoist.push(`let ${p}sg${r} = ${p}sq${r} / ${W}u; let ${p}sw${r} = ${p}sq${r} % ${W}u;`);
        const x = `${p}x${r}`, k = `(k0 + ${p}kq${r} * 4u)`;
        if (vec) {
          out.load.push(`${v} = vec4<f32>(0.0); if (${x} < ${lim} && ${k} < kEnd) { ${v} = ${src}[${src}0v + ${x} * K4 + ${k} / 4u]; }`);
        } else {
          const comps = XYZW.map((c, i) => `if (${k} + ${i}u < kEnd) { ${v}.${c} = ${src}[base + ${i}u]; }`).join(' ');
          out.load.push(`${v} = vec4<f32>(0.0); if (${x} < ${lim}) { let base = ${src}0 + ${x} * K + ${k}; ${comps} }`);
        }
        for (let c = 0; c < 4; c++) {
          out.store.push(`${tile}[buf][${p}kq${r} * 4u + ${c}u][${p}sg${r}][${p}sw${r}][${p}sc${r}] = ${v}.${XYZW[c]};`);
        }
      } else {
        // Element (x, k) at k·X + x (X = M or N); this thread loads x = 4·xq .. 4·xq+3 of tile row kk.
        out.hoist.push(`let ${p}xq${r} = ${id} % ${S}u; let ${p}kk${r} = ${id} / ${S}u; let ${p}x${r} = ${origin} + ${p}xq${r} * 4u;`);
        out.hoist.push(`let ${p}sg${r} = ${p}xq${r} / ${W}u; let ${p}sw${r} = ${p}xq${r} % ${W}u;`);
        const x = `${p}x${r}`, k = `(k0 + ${p}kk${r})`;
        if (vec) {
          out.load.push(`${v} = vec4<f32>(0.0); if (${x} < ${lim} && ${k} < kEnd) { ${v} = ${src}[${src}0v + ${k} * ${lim}4 + ${x} / 4u]; }`);
        } else {
          const comps = XYZW.map((c, i) => `if (${x} + ${i}u < ${lim}) { ${v}.${c} = ${src}[base + ${i}u]; }`).join(' ');
          out.load.push(`${v} = vec4<f32>(0.0); if (${k} < kEnd) { let base = ${src}0 + ${k} * ${lim} + ${x}; ${comps} }`);
        }
        out.store.push(`${tile}[buf][${p}kk${r}][${p}sg${r}][${p}sw${r}] = ${v};`);
      }
    }
    return out;
  };
  const sa = staging(true), sb = staging(false);

  // Inner product over one staged tile, k unrolled: TM/4 + TN/4 vec4 reads, TM·TN FMAs per k.
  const accs: string[] = [], compute: string[] = [], write: string[] = [];
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN / 4; j++) accs.push(`var acc${i}_${j} = vec4<f32>(0.0);`);
  for (let kk = 0; kk < BK; kk++) {
    const lines: string[] = [];
    const odd = Math.floor(kk / 4) % 2 === 1;
    for (let i = 0; i < TM / 4; i++) lines.push(`let av${i} = As[buf][${kk}][${i}][${odd && swA ? 'tyS' : 'ty'}];`);
    for (let j = 0; j < TN / 4; j++) lines.push(`let bv${j} = Bs[buf][${kk}][${j}][${odd && swB ? 'txS' : 'tx'}];`);
    for (let i = 0; i < TM; i++) {
      const ai = `vec4<f32>(av${Math.floor(i / 4)}.${XYZW[i % 4]})`;
      for (let j = 0; j < TN / 4; j++) lines.push(`acc${i}_${j} = fma(${ai}, bv${j}, acc${i}_${j});`);
    }
    compute.push(`{ ${lines.join(' ')} }`);
  }
  for (let i = 0; i < TM; i++) {
    const cols: string[] = [];
    for (let j = 0; j < TN / 4; j++) {
      const acc = `acc${i}_${j}`;
      const col = `col0 + (tx + ${j * WX}u) * 4u`;
      cols.push(al.c
        ? `{ let col = ${col}; if (col < N) { c[c0v + row * N4 + col / 4u] = ${acc}; } }`
        : `{ let col = ${col}; let base = c0 + row * N + col; ${XYZW.map((x, q) => `if (col + ${q}u < N) { c[base + ${q}u] = ${acc}.${x}; }`).join(' ')} }`);
    }
    write.push(`{ let row = row0 + (ty + ${Math.floor(i / 4) * WY}u) * 4u + ${i % 4}u; if (row < M) {\n    ${cols.join('\n    ')}\n  } }`);
  }

  const arr = (vec: boolean) => (vec ? 'array<vec4<f32>>' : 'array<f32>');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> a: ${arr(al.a)};
@group(0) @binding(2) var<storage, read> b: ${arr(al.b)};
@group(0) @binding(3) var<storage, read_write> c: ${arr(al.c)};
var<workgroup> As: ${tileType(TM / 4, WY)};
var<workgroup> Bs: ${tileType(TN / 4, WX)};
@compute @workgroup_size(${lanesX === undefined ? `${WX}, ${WY}` : NT})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = params[0]; let N = params[1]; let K = params[2];
  let M4 = M / 4u; let N4 = N / 4u; let K4 = K / 4u;
  // Grid z runs over (batch entry, K split); split s sums k in [kBeg, kEnd) into its own C.
  let S = params[7]; let zs = wid.z + params[6];
  let z = zs / S; let kBeg = (zs % S) * params[8]; let kEnd = min(K, kBeg + params[8]);
  let a0 = z * params[3]; let b0 = z * params[4]; let c0 = zs * params[5];
  let a0v = a0 / 4u; let b0v = b0 / 4u; let c0v = c0 / 4u;
  let row0 = wid.y * ${BM}u; let col0 = wid.x * ${BN}u;
  ${threadCoords(WX, lanesX)} let txS = tx ^ 4u; let tyS = ty ^ 4u;
  ${sa.hoist.join('\n  ')}
  ${sb.hoist.join('\n  ')}
  ${[...sa.decl, ...sb.decl].join(' ')}
  ${accs.join(' ')}
  let nt = select(0u, (kEnd - kBeg + ${BK - 1}u) / ${BK}u, kEnd > kBeg);
  var k0 = kBeg;
  ${[...sa.load, ...sb.load].join('\n  ')}
  for (var t = 0u; t < nt; t++) {
    let buf = ${doubleBuffer ? 't % 2u' : '0u'};
    ${[...sa.store, ...sb.store].join('\n    ')}
    workgroupBarrier();
    if (t + 1u < nt) {
      k0 = k0 + ${BK}u;
      ${[...sa.load, ...sb.load].join('\n      ')}
    }
    ${compute.join('\n    ')}${doubleBuffer ? '' : '\n    workgroupBarrier();'}
  }
  ${write.join('\n  ')}
}`;
}

/**
 * The thread's (tx, ty) in the WX-wide thread grid: lid's own, or with lanesX, from the subgroup
 * w = li / 32 and lane: subgroups tile the grid in (32 / lanesX) × lanesX patches, WX / lanesX
 * patches to a row. (Only speed depends on the real subgroup size: any mapping is a permutation.)
 */
function threadCoords(WX: number, lanesX: number | undefined): string {
  if (lanesX === undefined) return 'let tx = lid.x; let ty = lid.y;';
  const LY = 32 / lanesX, P = WX / lanesX;
  return `let w = li / 32u; let lane = li % 32u; let tx = (w % ${P}u) * ${lanesX}u + lane % ${lanesX}u; let ty = (w / ${P}u) * ${LY}u + lane / ${lanesX}u;`;
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
export const splitKReduceShader = memoShader(splitKReduceShaderSource);
export const vec4Shader = memoShader(vec4ShaderSource);
