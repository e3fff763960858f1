// WGSL kernels for fused attention (FlashAttention-2's schedule, in plain f32 WGSL).
//
// forward (one workgroup per (query tile, head, batch entry); grid [⌈T/BQ⌉, H, B]):
//   The BQ query rows are staged in workgroup memory once. For each key tile that the masks leave
//   visible (causal: tiles past the query tile are skipped; window: tiles before it; padding: tiles
//   past the valid length), K is staged and each thread computes a TM×TN block of S = Q·Kᵀ in
//   registers (scaled by scale·log2 e, so exp2 replaces exp). Masked entries get a finite sentinel
//   (−f32 max). The row maxima meet in workgroup memory; each thread then rescales its running
//   output rows by exp2(m_old − m_new) (online softmax), writes P = exp2(S − m) for the tile, and
//   while P is written V replaces K in the same buffer; then O += P·V, each thread owning TM rows ×
//   ⌈D/4/WX⌉ vec4 columns. Row sums are kept per thread (own columns only, rescaled consistently since all
//   threads of a row share its max) and added once at the end. Writes O = acc / l and the
//   log-sum-exp LSE = m·ln 2 + ln l (−Inf and O = 0 for a row that saw no key).
// backward: three launches.
//   delta: one thread per query row: Di = dO·O, stored with LSE·log2 e as a [rows, 2] pair.
//   dQ (per query tile, like the forward): Q and dO staged once; per key tile, S and dP = dO·Vᵀ in
//     one pass over D, P = exp2(S − LSE), dS = P ⊙ (dP − Di) to workgroup memory, dQ += dS·K.
//   dK/dV (one workgroup per (key tile, kv head, batch entry)): K and V staged once; loops over the
//     query heads that share the kv head (GQA: the sum over the group happens in registers, no
//     per-query-head dK/dV buffer and no atomics) and over the query tiles the masks leave visible,
//     staging Q, dO and (LSE, Di) per tile; Sᵀ and dPᵀ per thread block, Pᵀ and dSᵀ to workgroup
//     memory, then dV += Pᵀ·dO and dK += dSᵀ·Q.
//     When the grouped grid is too small to fill a GPU (GQA, small batch: see splitGroups), it runs
//     one workgroup per query head instead, writing per-head shares that a small kernel sums.
//   Nothing of size T×T exists: every P and dS tile lives in workgroup memory.
//
// head_dim in chunks: when no tile of whole rows fits the adapter's workgroup memory (head_dim 256:
// the backward's smallest whole-row tile needs 34 KiB; the WebGPU default is 16), every staged row
// holds a chunk of head_dim columns instead. Dot products over D loop over the chunks, staging each
// (Q's and K's chunks per key tile: nothing is staged once for the whole loop); the accumulations
// into output rows run in a loop over the chunks (a thread's accumulators an array per row, indexed
// by the chunk), restaging the operand (V, K, or Q and dO) per chunk. More barriers and re-reads, memory independent of D.
//
// Soft-capping (Gemma-2) is baked in: scores become c·tanh(scale·q·k/c) (times log2 e), and the
// backward's dS carries 1 − tanh².
//
// Workgroup-memory layout: staged rows (Q, K, V, dO) are vec4 arrays, row-major, with one vec4 of
// padding per row (stride ⌈D/4⌉ + 1 vec4s). The dot-product loops read a vec4 of each of TM + TN
// rows per step (4 FMAs per load instead of 1: on NVIDIA, workgroup-memory load instructions, not
// FMAs, bound these loops), and the 4-word row offset puts eight lanes reading eight rows on 32
// distinct banks; the accumulation loops read neighbouring vec4s of one row. P and dS tiles are
// scalar (each thread writes scattered columns) with one column of padding. Tiles where every
// (query, key) pair is visible skip the mask test.
//
// params (binding 0, u32): T, H, Hkv, causal, window, scale·log2 e (f32 bits), scale (f32 bits),
// H / Hkv, scale / softcap and softcap·log2 e (f32 bits; 0 without a cap), then the B valid lengths (i32, copied on the device from the keyPadding tensor, so
// they are never read back). D and the tile sizes are baked into the source.
import { registerKernel, type TensorInfo } from '../../autograd/kernel.js';
import type { Storage } from '../../autograd/device.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, FLAT_WORKGROUP, FROM_BITS, Meta, grid1d, wgslLiteral, wgslType, memoShader } from '../wgsl.js';
import { type AttentionAttrs, type AttentionDims, attentionDims } from './contract.js';

/**
 * A tile: BQ query rows and BK key rows per step, WX × WY threads. In the forward and dQ kernels a
 * thread owns BQ/WY query rows and BK/WX key columns of S; in dK/dV, BK/WY key rows and BQ/WX
 * query columns. Every thread owns ⌈D/(4·WX)⌉ vec4 columns of its output rows.
 */
export interface AttentionTile {
  BQ: number;
  BK: number;
  WX: number;
  WY: number;
  /** head_dim columns staged per step (a multiple of 4·WX); absent: whole rows. */
  headChunk?: number;
}

export interface AttentionVersion {
  version: number;
  name: string;
  forward: AttentionTile;
  dq: AttentionTile;
  dkv: AttentionTile;
}

/**
 * Tile presets, smallest first, selectable with the `version` attribute (benchmarks). Without one,
 * each kernel takes the largest tile that fits the adapter's workgroup memory, and of equal tiles
 * the one with the most threads (chooseAttentionTile). At head_dim 64: with 32 KiB (lavapipe)
 * forward 32×32, dQ 32×16, dK/dV 16×32 (v3, v2, v3); with 48 KiB (H200), v6's tiles for all three
 * (256 threads each). On the H200, forward + backward at T = 512 took 0.612 ms with v6's tiles,
 * 0.733 with v5's (128 threads) and 1.157 with the 64-thread tiles chosen before v5 and v6 existed
 * (2048: 6.43, 8.19, 12.1 ms): with 64 threads and T = 512 the grid held too few warps to hide
 * workgroup-memory latency. Whole rows of head_dim 128 need 32 KiB for the backward, of 256 more
 * (the WebGPU default is 16 KiB; desktop adapters offer 32 KiB or more): below that the kernels
 * stage head_dim in chunks (AttentionTile.headChunk).
 */
export const ATTENTION_VERSIONS: readonly AttentionVersion[] = [
  { version: 0, name: 'tiles 8×8', forward: { BQ: 8, BK: 8, WX: 8, WY: 8 }, dq: { BQ: 8, BK: 8, WX: 8, WY: 8 }, dkv: { BQ: 8, BK: 8, WX: 8, WY: 8 } },
  { version: 1, name: 'tiles 16×16 (dQ 16×8)', forward: { BQ: 16, BK: 16, WX: 8, WY: 8 }, dq: { BQ: 16, BK: 8, WX: 8, WY: 8 }, dkv: { BQ: 8, BK: 16, WX: 8, WY: 8 } },
  { version: 2, name: 'tiles 32×16', forward: { BQ: 32, BK: 16, WX: 8, WY: 8 }, dq: { BQ: 32, BK: 16, WX: 8, WY: 8 }, dkv: { BQ: 16, BK: 16, WX: 8, WY: 8 } },
  { version: 3, name: 'tiles 32×32', forward: { BQ: 32, BK: 32, WX: 8, WY: 8 }, dq: { BQ: 32, BK: 32, WX: 8, WY: 8 }, dkv: { BQ: 16, BK: 32, WX: 8, WY: 8 } },
  { version: 4, name: 'tiles 64×32, 128 threads', forward: { BQ: 64, BK: 32, WX: 8, WY: 16 }, dq: { BQ: 64, BK: 32, WX: 8, WY: 16 }, dkv: { BQ: 32, BK: 32, WX: 8, WY: 8 } },
  // The 64×32 forward and 32×32 backward tiles with two and four times v4's threads (fewer rows and
  // columns each): more warps to hide latency.
  { version: 5, name: 'tiles 64×32 / 32×32, 128 threads', forward: { BQ: 64, BK: 32, WX: 8, WY: 16 }, dq: { BQ: 32, BK: 32, WX: 8, WY: 16 }, dkv: { BQ: 32, BK: 32, WX: 8, WY: 16 } },
  { version: 6, name: 'tiles 64×32 / 32×32, 256 threads', forward: { BQ: 64, BK: 32, WX: 16, WY: 16 }, dq: { BQ: 32, BK: 32, WX: 16, WY: 16 }, dkv: { BQ: 32, BK: 32, WX: 16, WY: 16 } },
];


export type AttentionKernel = 'forward' | 'dq' | 'dkv';

/**
 * How a kernel stages head_dim in workgroup memory: whole rows (CV = ⌈D/4⌉ vec4s, staged once where
 * the schedule allows), or chunks of CV vec4s (tile.headChunk / 4) staged and consumed one after
 * another, so that the memory no longer grows with D (NC chunks; the last one zero-filled past D).
 * R4: the staged row stride in vec4s (one of padding, see the file comment).
 */
interface Staging {
  chunked: boolean;
  CV: number;
  R4: number;
  NC: number;
}

function staging(t: AttentionTile, D: number): Staging {
  const V4 = Math.ceil(D / 4);
  if (!t.headChunk) return { chunked: false, CV: V4, R4: V4 + 1, NC: 1 };
  const CV = t.headChunk / 4;
  return { chunked: true, CV, R4: CV + 1, NC: Math.ceil(V4 / CV) };
}

/** Workgroup memory (bytes) a kernel needs with this tile and head_dim. */
export function attentionSharedBytes(kernel: AttentionKernel, t: AttentionTile, D: number): number {
  const { chunked, R4 } = staging(t, D);
  // Staged rows; whole rows add WX vec4s of slack read (never used) by threads past the last column.
  const rows = (n: number) => 16 * (n * R4 + (chunked ? 0 : t.WX));
  switch (kernel) {
    case 'forward': return rows(t.BQ) + rows(t.BK) + 4 * t.BQ * (t.BK + 1) + 4 * t.BQ * t.WX;
    case 'dq': return 2 * rows(t.BQ) + 2 * rows(t.BK) + 4 * t.BQ * (t.BK + 1);
    case 'dkv': return 2 * rows(t.BK) + 2 * rows(t.BQ) + 8 * t.BK * (t.BQ + 1) + 8 * t.BQ;
  }
}

function fits(device: WebGPUDevice, kernel: AttentionKernel, t: AttentionTile, D: number): boolean {
  const l = device.limits;
  return attentionSharedBytes(kernel, t, D) <= l.maxComputeWorkgroupStorageSize
    && t.WX * t.WY <= l.maxComputeInvocationsPerWorkgroup && t.WY <= l.maxComputeWorkgroupSizeY && t.WX <= l.maxComputeWorkgroupSizeX;
}

/** Tiles the automatic choice also considers, beyond the presets' (dQ at head_dim 128 with 48 KiB). */
const EXTRA_TILES: Record<AttentionKernel, AttentionTile[]> = { forward: [], dq: [{ BQ: 32, BK: 8, WX: 8, WY: 8 }], dkv: [] };

/** Every whole-row tile a kernel may run with, most work per workgroup first (ties: more threads first). */
function candidateTiles(kernel: AttentionKernel): AttentionTile[] {
  return [...ATTENTION_VERSIONS.map((v) => v[kernel]), ...EXTRA_TILES[kernel]]
    .sort((a, b) => b.BQ * b.BK - a.BQ * a.BK || b.WX * b.WY - a.WX * a.WY);
}

/** Chunk widths (head_dim columns) a tile may stage: multiples of 4·WX, so each chunk holds whole vec4 columns of every thread. */
const chunkWidths = (t: AttentionTile): number[] => [8 * t.WX, 4 * t.WX];

/** The head-dim-chunked versions of the tiles, in the same order, wider chunks first. */
function chunkedCandidates(tiles: AttentionTile[], headChunk?: number): AttentionTile[] {
  return tiles.flatMap((t) => (headChunk === undefined ? chunkWidths(t) : [headChunk]).map((c) => ({ ...t, headChunk: c })));
}

function checkHeadChunk(t: AttentionTile, headChunk: number): void {
  if (!Number.isInteger(headChunk) || headChunk <= 0 || headChunk % (4 * t.WX) !== 0) {
    throw new Error(`attention: headChunk must be a positive multiple of ${4 * t.WX} (4 × the tile's ${t.WX} threads across) for tile ${tileName(t)}, got ${headChunk}`);
  }
}

/**
 * The tile a kernel runs with: the asked-for preset (which must fit), else the candidate with the
 * most work per workgroup that fits the adapter's workgroup memory and size limits, staging whole
 * rows of head_dim; when no whole-row tile fits (head_dim 256 at 32 KiB or less), the same search
 * over tiles that stage head_dim in chunks. headChunk forces chunks of that width.
 */
export function chooseAttentionTile(device: WebGPUDevice, kernel: AttentionKernel, D: number, version?: number, headChunk?: number): AttentionTile {
  const limit = device.limits.maxComputeWorkgroupStorageSize;
  if (version !== undefined) {
    const v = ATTENTION_VERSIONS[version];
    if (!v) throw new Error(`attention: no tile version ${version} (have 0..${ATTENTION_VERSIONS.length - 1})`);
    let tile = v[kernel];
    if (headChunk !== undefined) {
      checkHeadChunk(tile, headChunk);
      tile = { ...tile, headChunk };
    }
    if (!fits(device, kernel, tile, D)) {
      throw new Error(`attention: tile version ${version} needs ${attentionSharedBytes(kernel, tile, D)} bytes of workgroup memory for the ${kernel} kernel at head_dim ${D}; this adapter has ${limit}`);
    }
    return tile;
  }
  const tiles = candidateTiles(kernel);
  const candidates = headChunk === undefined
    ? [...tiles, ...chunkedCandidates(tiles)]
    : chunkedCandidates(tiles.filter((t) => headChunk % (4 * t.WX) === 0), headChunk);
  if (headChunk !== undefined && candidates.length === 0) checkHeadChunk(tiles[tiles.length - 1], headChunk);
  const tile = candidates.find((t) => fits(device, kernel, t, D));
  if (!tile) {
    const least = Math.min(...candidates.map((t) => attentionSharedBytes(kernel, t, D)));
    throw new Error(`attention: head_dim ${D} is too large for this adapter's ${limit} bytes of workgroup memory (the smallest ${kernel} tile needs ${least})`);
  }
  return tile;
}

/** A tile as it appears in kernel names: BQ×BK, and its head-dim chunk. */
const tileName = (t: AttentionTile) => `${t.BQ}×${t.BK}${t.headChunk ? `, head_dim in chunks of ${t.headChunk}` : ''}`;

const NEG = wgslLiteral(-3.4028234663852886e38, 'f32');
const NEG_INF = wgslLiteral(-Infinity, 'f32');
const LN2 = wgslLiteral(Math.LN2, 'f32');
const LOG2E = wgslLiteral(Math.LOG2E, 'f32');

/** `n` copies of f(i), joined. */
const rep = (n: number, f: (i: number) => string, sep = ' '): string => Array.from({ length: n }, (_, i) => f(i)).join(sep);
/** All (i, j) with i < a, j < b. */
const rep2 = (a: number, b: number, f: (i: number, j: number) => string, sep = ' '): string => rep(a, (i) => rep(b, (j) => f(i, j), sep), sep);

const COMMON = /* wgsl */ `
${FROM_BITS}
/** Mistral / causal / right-padding visibility of key j to query i (see contract.ts). */
fn visible(i: u32, j: u32, L: u32, causal: bool, window: u32) -> bool {
  return j < L && (!causal || j <= i) && (window == 0u || j + window > i);
}
/** Whether every key of [j0, j0 + bk) is visible to every query of [i0, i0 + bq). */
fn all_visible(i0: u32, bq: u32, j0: u32, bk: u32, L: u32, causal: bool, window: u32) -> bool {
  return j0 + bk <= L && (!causal || j0 + bk <= i0 + 1u) && (window == 0u || j0 + window + 1u > i0 + bq);
}`;

/** Words of params before the B lengths. */
const META_WORDS = 10;

/** Reads params into named values; b comes from the grid's z. */
const PROLOGUE = /* wgsl */ `
  let T = params[0]; let H = params[1]; let HKV = params[2];
  let causal = params[3] != 0u; let window = params[4];
  let c2 = bitcast<f32>(params[5]); let scale = bitcast<f32>(params[6]); let G = params[7];
  let sinv = bitcast<f32>(params[8]); let cap2 = bitcast<f32>(params[9]);
  let b = wid.z;
  let L = min(u32(max(bitcast<i32>(params[${META_WORDS}u + b]), 0i)), T);
  let tx = lid.x; let ty = lid.y;`;

// Soft-capping: tanh's argument is clamped where tanh(x) is ±1 in f32 (and exp inside tanh cannot overflow).
const CAP_CLAMP = '15.0';

/**
 * A raw score q·k turned into the exponent base 2 of its softmax weight: s·scale·log₂e, or with
 * soft-capping c·log₂e·tanh(s·scale/c), reading t = tanh(…) (defined by capTanh) for the gradient.
 */
const logit2 = (s: string, softcap: boolean): string => (softcap ? `cap2 * tanh(clamp(${s} * sinv, -${CAP_CLAMP}, ${CAP_CLAMP}))` : `${s} * c2`);
const capTanh = (s: string) => `let t = tanh(clamp(${s} * sinv, -${CAP_CLAMP}, ${CAP_CLAMP}));`;

/**
 * Copies `n` rows starting at global row `first` of `src` (rows of D floats from `base`) into the
 * vec4 array `dst`: whole rows, or the chunk of vec4 columns from `c0`; rows at or past T, and
 * columns past D, read as zeros.
 */
function stage(dst: string, src: string, base: string, first: string, n: number, D: number, NT: number, st: Staging, c0 = '0u'): string {
  const V4 = Math.ceil(D / 4);
  const load = D % 4 === 0
    ? `x = vec4f(${src}[at], ${src}[at + 1u], ${src}[at + 2u], ${src}[at + 3u]);`
    : rep(4, (c) => `if (4u * c4 + ${c}u < ${D}u) { x[${c}] = ${src}[at + ${c}u]; }`);
  const { CV } = st;
  const inside = st.chunked && V4 % CV !== 0 ? 'gr < T && c4 < ' + `${V4}u` : 'gr < T';
  return `for (var e = li; e < ${n * CV}u; e += ${NT}u) {
      let r = e / ${CV}u; let c = e % ${CV}u; let c4 = ${st.chunked ? `${c0} + c` : 'c'}; let gr = ${first} + r;
      var x = vec4f(0.0);
      if (${inside}) { let at = ${base} + gr * ${D}u + 4u * c4; ${load} }
      ${dst}[r * ${st.R4}u + c] = x;
    }`;
}

/**
 * Dot products over head_dim between staged rows (`body` reads vec4 column d of each). Whole rows:
 * the arrays staged per tile (`inner`) are staged, then one pass (the others were staged once
 * before the loop: outer); chunks: every array is staged chunk by chunk, each consumed before the
 * next replaces it.
 */
function overHeadDim(st: Staging, D: number, outer: (c0: string) => string, inner: (c0: string) => string, body: string): string {
  if (!st.chunked) {
    return `${inner('0u')}
    workgroupBarrier();
    for (var d = 0u; d < ${Math.ceil(D / 4)}u; d++) {
      ${body}
    }`;
  }
  return `for (var c0 = 0u; c0 < ${Math.ceil(D / 4)}u; c0 += ${st.CV}u) {
      ${outer('c0')}
      ${inner('c0')}
      workgroupBarrier();
      for (var d = 0u; d < ${st.CV}u; d++) {
        ${body}
      }
      workgroupBarrier();
    }`;
}

/**
 * A thread's output accumulators: TE vec4s per row, `${name}${i}_${e}` registers for whole rows; for
 * chunks an array per row (`${name}${i}[e]`), so that one loop body serves every chunk.
 */
function accumulators(st: Staging, TM: number, TE: number, names: string[]) {
  return {
    decl: rep(TM, (i) => names.map((n) => (st.chunked ? `var ${n}${i}: array<vec4f, ${TE}>;` : rep(TE, (e) => `var ${n}${i}_${e} = vec4f(0.0);`))).join(' ')),
    /** Output vec4 e of row i (e a constant). */
    at: (n: string, i: number, e: number) => (st.chunked ? `${n}${i}[${e}]` : `${n}${i}_${e}`),
  };
}

/**
 * The accumulation into a thread's output columns: `body(es, col, acc)` for the vec4s es it owns
 * among the staged columns (col(e): e's column in the staged rows; acc(name, i, e): the
 * accumulator), after `restage` has put them there: once for whole rows, else in a loop over the
 * chunks (one body, not NC unrolled copies: lavapipe compiles every barrier of an unrolled copy
 * into its own coroutine step, minutes for head_dim 256).
 */
function overOutputChunks(st: Staging, TE: number, WX: number, restage: (c0: string) => string,
  body: (es: number[], col: (e: number) => string, acc: (n: string, i: number, e: number) => string) => string): string {
  if (!st.chunked) {
    return `${restage('0u')}
    workgroupBarrier();
    ${body(Array.from({ length: TE }, (_, e) => e), (e) => `(tx + ${e * WX}u)`, (n, i, e) => `${n}${i}_${e}`)}
    workgroupBarrier();`;
  }
  const m = st.CV / WX;
  return `for (var ch = 0u; ch < ${st.NC}u; ch++) {
      ${restage(`ch * ${st.CV}u`)}
      workgroupBarrier();
      ${body(Array.from({ length: m }, (_, e) => e), (e) => `(tx + ${e * WX}u)`, (n, i, e) => `${n}${i}[ch * ${m}u + ${e}u]`)}
      workgroupBarrier();
    }`;
}

/** Writes vec4 `acc` (times `mul`) to columns 4·c4.. of row `row` of `dst` (rows of D floats at `base`). */
function storeRow(dst: string, base: string, row: string, c4: string, acc: string, D: number): string {
  const V4 = Math.ceil(D / 4);
  const cols = rep(4, (c) => (D % 4 === 0 ? `${dst}[at + ${c}u] = v[${c}];` : `if (4u * ${c4} + ${c}u < ${D}u) { ${dst}[at + ${c}u] = v[${c}]; }`));
  return `if (${c4} < ${V4}u) { let at = ${base} + ${row} * ${D}u + 4u * ${c4}; let v = ${acc}; ${cols} }`;
}

const ENTRY = '@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32';

/** Key range [kStart, kEnd) that query rows [i0, i0 + BQ) can see; tiles start at tStart. */
function keyRange(BQ: number, BK: number): string {
  return `var kEnd = L;
  if (causal) { kEnd = min(kEnd, i0 + ${BQ}u); }
  var kStart = 0u;
  if (window > 0u && i0 + 1u > window) { kStart = i0 + 1u - window; }
  let tStart = kStart / ${BK}u * ${BK}u;`;
}

/** Shape constants of a tile at head_dim D. */
function tileConsts(t: AttentionTile, D: number, rowsPerThread: number, colsPerThread: number) {
  const V4 = Math.ceil(D / 4);
  const st = staging(t, D);
  return {
    NT: t.WX * t.WY, TM: rowsPerThread, TN: colsPerThread, V4, st, R4: st.R4,
    TE: st.chunked ? (st.NC * st.CV) / t.WX : Math.ceil(V4 / t.WX),
    rowL: (i: number) => `(ty + ${i * t.WY}u)`,
    colL: (j: number) => `(tx + ${j * t.WX}u)`,
    /** The thread's e-th vec4 column of an output row. */
    dim: (e: number) => `(tx + ${e * t.WX}u)`,
  };
}

/** The staged arrays: rows of vec4s, with WX of slack for whole rows (attentionSharedBytes). */
const stagedArray = (name: string, rows: number, t: AttentionTile, st: Staging) => `var<workgroup> ${name}: array<vec4f, ${rows * st.R4 + (st.chunked ? 0 : t.WX)}>;`;

function forwardShaderSource(t: AttentionTile, D: number, softcap = false): string {
  const { BQ, BK, WX } = t;
  const { NT, TM, TN, st, R4, TE, rowL, colL, dim } = tileConsts(t, D, BQ / t.WY, BK / WX);
  const BKP = BK + 1;
  // Scaled (soft-capped), masked scores: interior tiles (every pair visible) skip the mask test.
  const scoreSelect = (i: number) => rep(TN, (j) => `s${i}_${j} = select(${NEG}, ${logit2(`s${i}_${j}`, softcap)}, visible(row, j0 + ${colL(j)}, L, causal, window)); mx = max(mx, s${i}_${j});`, '\n        ');
  const scorePlain = (i: number) => rep(TN, (j) => `s${i}_${j} = ${logit2(`s${i}_${j}`, softcap)}; mx = max(mx, s${i}_${j});`, ' ');
  const stageQ = (c0: string) => stage('Qs', 'q', 'qBase', 'i0', BQ, D, NT, st, c0);
  const A = accumulators(st, TM, TE, ['acc']);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
${COMMON}
${stagedArray('Qs', BQ, t, st)}
${stagedArray('KV', BK, t, st)}
var<workgroup> Ps: array<f32, ${BQ * BKP}>;
var<workgroup> red: array<f32, ${BQ * WX}>;
@compute @workgroup_size(${WX}, ${t.WY})
fn main(${ENTRY}) {${PROLOGUE}
  let h = wid.y; let hk = h / G;
  let i0 = wid.x * ${BQ}u;
  let qBase = (b * H + h) * T * ${D}u;
  let kBase = (b * HKV + hk) * T * ${D}u;
  ${st.chunked ? '' : stageQ('0u')}
  ${keyRange(BQ, BK)}
  ${rep(TM, (i) => `var m${i} = ${NEG}; var l${i} = 0.0;`)}
  ${A.decl}
  for (var j0 = tStart; j0 < kEnd; j0 += ${BK}u) {
    ${rep2(TM, TN, (i, j) => `var s${i}_${j} = 0.0;`)}
    ${overHeadDim(st, D, stageQ, (c0) => stage('KV', 'k', 'kBase', 'j0', BK, D, NT, st, c0), `${rep(TM, (i) => `let a${i} = Qs[${rowL(i)} * ${R4}u + d];`)}
      ${rep(TN, (j) => `let b${j} = KV[${colL(j)} * ${R4}u + d];`)}
      ${rep2(TM, TN, (i, j) => `s${i}_${j} += dot(a${i}, b${j});`)}`)}
    let interior = all_visible(i0, ${BQ}u, j0, ${BK}u, L, causal, window);
    ${rep(TM, (i) => `{
      let row = i0 + ${rowL(i)};
      var mx = ${NEG};
      if (interior) { ${scorePlain(i)} } else {
        ${scoreSelect(i)}
      }
      red[${rowL(i)} * ${WX}u + tx] = mx;
    }`, '\n    ')}
    workgroupBarrier();
    ${rep(TM, (i) => `{
      var mt = m${i};
      for (var x = 0u; x < ${WX}u; x++) { mt = max(mt, red[${rowL(i)} * ${WX}u + x]); }
      let alpha = exp2(m${i} - mt);
      m${i} = mt;
      l${i} *= alpha;
      ${rep(TE, (e) => `${A.at('acc', i, e)} *= alpha;`)}
      ${rep(TN, (j) => `{ let p = select(0.0, exp2(s${i}_${j} - mt), s${i}_${j} > ${NEG}); l${i} += p; Ps[${rowL(i)} * ${BKP}u + ${colL(j)}] = p; }`, '\n      ')}
    }`, '\n    ')}
    // V replaces K (whole rows, or chunk by chunk) while P is written.
    ${overOutputChunks(st, TE, WX, (c0) => stage('KV', 'v', 'kBase', 'j0', BK, D, NT, st, c0), (es, col, acc) => `for (var jj = 0u; jj < ${BK}u; jj++) {
      ${rep(TM, (i) => `let pa${i} = Ps[${rowL(i)} * ${BKP}u + jj];`)}
      ${es.map((e) => `let vb${e} = KV[jj * ${R4}u + ${col(e)}];`).join(' ')}
      ${rep(TM, (i) => es.map((e) => `${acc('acc', i, e)} += pa${i} * vb${e};`).join(' '), ' ')}
    }`)}
  }
  ${rep(TM, (i) => `red[${rowL(i)} * ${WX}u + tx] = l${i};`)}
  workgroupBarrier();
  ${rep(TM, (i) => `{
    let row = i0 + ${rowL(i)};
    var lt = 0.0;
    for (var x = 0u; x < ${WX}u; x++) { lt += red[${rowL(i)} * ${WX}u + x]; }
    if (row < T) {
      let inv = select(0.0, 1.0 / lt, lt > 0.0);
      ${rep(TE, (e) => storeRow('o', 'qBase', 'row', dim(e), `${A.at('acc', i, e)} * inv`, D), '\n      ')}
      if (tx == 0u) { lse[(b * H + h) * T + row] = select(${NEG_INF}, (m${i} + log2(lt)) * ${LN2}, lt > 0.0); }
    }
  }`, '\n  ')}
}`;
}

/** Di = dO·O per query row, next to LSE·log2 e: stats[2r] and stats[2r + 1]. params: rows. */
function deltaShaderSource(D: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> o: array<f32>;
@group(0) @binding(2) var<storage, read> dO: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@compute @workgroup_size(64)
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let r = wg_flat * 64u + lid.x;
  if (r >= params[0]) { return; }
  var acc = 0.0;
  for (var c = 0u; c < ${D}u; c++) { acc += dO[r * ${D}u + c] * o[r * ${D}u + c]; }
  stats[2u * r] = lse[r] * ${LOG2E};
  stats[2u * r + 1u] = acc;
}`;
}

/**
 * P and dS of one (query, key) pair from its raw score s, dP and the row's LSE·log₂e and Di, hidden
 * pairs (vis false) giving 0; soft-capped, dS carries tanh's derivative 1 − t².
 */
function probAndGrad(s: string, dp: string, lse: string, di: string, vis: string, softcap: boolean): string {
  const e = `exp2(${softcap ? 'cap2 * t' : `${s} * c2`} - ${lse})`;
  return `${softcap ? capTanh(s) : ''}
        let p = ${vis === 'true' ? e : `select(0.0, ${e}, ${vis})`};
        let ds = p * (${dp} - ${di})${softcap ? ' * (1.0 - t * t)' : ''};`;
}

function dqShaderSource(t: AttentionTile, D: number, softcap = false): string {
  const { BQ, BK, WX } = t;
  const { NT, TM, TN, st, R4, TE, rowL, colL, dim } = tileConsts(t, D, BQ / t.WY, BK / WX);
  const BKP = BK + 1;
  const dsOf = (i: number, j: number, vis: string) => `{
        ${probAndGrad(`s${i}_${j}`, `dp${i}_${j}`, `lse${i}`, `di${i}`, vis, softcap)}
        dSs[${rowL(i)} * ${BKP}u + ${colL(j)}] = ds;
      }`;
  const stageQ = (c0: string) => `${stage('Qs', 'q', 'qBase', 'i0', BQ, D, NT, st, c0)}
  ${stage('dOs', 'dO', 'qBase', 'i0', BQ, D, NT, st, c0)}`;
  const stageK = (c0: string) => stage('Ks', 'k', 'kBase', 'j0', BK, D, NT, st, c0);
  const A = accumulators(st, TM, TE, ['acc']);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;
${COMMON}
${stagedArray('Qs', BQ, t, st)}
${stagedArray('dOs', BQ, t, st)}
${stagedArray('Ks', BK, t, st)}
${stagedArray('Vs', BK, t, st)}
var<workgroup> dSs: array<f32, ${BQ * BKP}>;
@compute @workgroup_size(${WX}, ${t.WY})
fn main(${ENTRY}) {${PROLOGUE}
  let h = wid.y; let hk = h / G;
  let i0 = wid.x * ${BQ}u;
  let qBase = (b * H + h) * T * ${D}u;
  let kBase = (b * HKV + hk) * T * ${D}u;
  let sBase = (b * H + h) * T;
  ${st.chunked ? '' : stageQ('0u')}
  ${rep(TM, (i) => `var lse${i} = 0.0; var di${i} = 0.0;
  { let row = i0 + ${rowL(i)}; if (row < T) { lse${i} = stats[2u * (sBase + row)]; di${i} = stats[2u * (sBase + row) + 1u]; } }`, '\n  ')}
  ${keyRange(BQ, BK)}
  ${A.decl}
  for (var j0 = tStart; j0 < kEnd; j0 += ${BK}u) {
    ${rep2(TM, TN, (i, j) => `var s${i}_${j} = 0.0; var dp${i}_${j} = 0.0;`)}
    ${overHeadDim(st, D, stageQ, (c0) => `${stageK(c0)}
    ${stage('Vs', 'v', 'kBase', 'j0', BK, D, NT, st, c0)}`, `${rep(TM, (i) => `let a${i} = Qs[${rowL(i)} * ${R4}u + d]; let g${i} = dOs[${rowL(i)} * ${R4}u + d];`)}
      ${rep(TN, (j) => `let kb${j} = Ks[${colL(j)} * ${R4}u + d]; let vb${j} = Vs[${colL(j)} * ${R4}u + d];`)}
      ${rep2(TM, TN, (i, j) => `s${i}_${j} += dot(a${i}, kb${j}); dp${i}_${j} += dot(g${i}, vb${j});`)}`)}
    if (all_visible(i0, ${BQ}u, j0, ${BK}u, L, causal, window)) {
      ${rep2(TM, TN, (i, j) => dsOf(i, j, 'true'), '\n      ')}
    } else {
      ${rep2(TM, TN, (i, j) => dsOf(i, j, `visible(i0 + ${rowL(i)}, j0 + ${colL(j)}, L, causal, window)`), '\n      ')}
    }
    ${overOutputChunks(st, TE, WX, (c0) => (st.chunked ? stageK(c0) : ''), (es, col, acc) => `for (var jj = 0u; jj < ${BK}u; jj++) {
      ${rep(TM, (i) => `let da${i} = dSs[${rowL(i)} * ${BKP}u + jj];`)}
      ${es.map((e) => `let kb${e} = Ks[jj * ${R4}u + ${col(e)}];`).join(' ')}
      ${rep(TM, (i) => es.map((e) => `${acc('acc', i, e)} += da${i} * kb${e};`).join(' '), ' ')}
    }`)}
  }
  ${rep(TM, (i) => `{
    let row = i0 + ${rowL(i)};
    if (row < T) {
      ${rep(TE, (e) => storeRow('dq', 'qBase', 'row', dim(e), `${A.at('acc', i, e)} * scale`, D), '\n      ')}
    }
  }`, '\n  ')}
}`;
}

/**
 * dK/dV. Grouped (split = false): one workgroup per kv head, summing over the G query heads that
 * share it in registers. Split: one workgroup per query head, writing that head's share to
 * [B, H, T, D] buffers that groupSumShader adds up; more workgroups when B·Hkv·⌈T/BK⌉ is too few
 * to fill a GPU (GQA with small batches).
 */
function dkvShaderSource(t: AttentionTile, D: number, split = false, softcap = false): string {
  const { BQ, BK, WX } = t;
  // Here a thread's rows are keys and its columns are queries.
  const { NT, TM, TN, st, R4, TE, rowL: keyL, colL: qL, dim } = tileConsts(t, D, BK / t.WY, BQ / WX);
  const BQP = BQ + 1;
  const pdsOf = (i: number, j: number, vis: string) => `{
          ${probAndGrad(`s${i}_${j}`, `dp${i}_${j}`, `st[2u * ${qL(j)}]`, `st[2u * ${qL(j)} + 1u]`, vis, softcap)}
          Ps[${keyL(i)} * ${BQP}u + ${qL(j)}] = p;
          dSs[${keyL(i)} * ${BQP}u + ${qL(j)}] = ds;
        }`;
  const stageK = (c0: string) => `${stage('Ks', 'k', 'kBase', 'j0', BK, D, NT, st, c0)}
  ${stage('Vs', 'v', 'kBase', 'j0', BK, D, NT, st, c0)}`;
  const stageQ = (c0: string) => `${stage('Qs', 'q', 'qBase', 'i0', BQ, D, NT, st, c0)}
        ${stage('dOs', 'dO', 'qBase', 'i0', BQ, D, NT, st, c0)}`;
  const A = accumulators(st, TM, TE, ['dk', 'dv']);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<f32>;
@group(0) @binding(7) var<storage, read_write> dv: array<f32>;
${COMMON}
${stagedArray('Ks', BK, t, st)}
${stagedArray('Vs', BK, t, st)}
${stagedArray('Qs', BQ, t, st)}
${stagedArray('dOs', BQ, t, st)}
var<workgroup> Ps: array<f32, ${BK * BQP}>;
var<workgroup> dSs: array<f32, ${BK * BQP}>;
var<workgroup> st: array<f32, ${2 * BQ}>;
@compute @workgroup_size(${WX}, ${t.WY})
fn main(${ENTRY}) {${PROLOGUE}
  let hk = ${split ? 'wid.y / G' : 'wid.y'};
  let j0 = wid.x * ${BK}u;
  let kBase = (b * HKV + hk) * T * ${D}u;
  // Where this workgroup's dK, dV rows go: the kv head's, or (split) the query head's share.
  let outBase = ${split ? '(b * H + wid.y) * T' : '(b * HKV + hk) * T'} * ${D}u;
  ${st.chunked ? '' : stageK('0u')}
  ${A.decl}
  if (j0 < L) {
    // Queries that can see keys [j0, j0 + BK): causal ones at or after j0, windowed ones before
    // the last key + window.
    var iStart = 0u;
    if (causal) { iStart = j0; }
    var iEnd = T;
    if (window > 0u) { iEnd = min(T, j0 + ${BK - 1}u + window); }
    let tStart = iStart / ${BQ}u * ${BQ}u;
    for (var g = ${split ? 'wid.y % G' : '0u'}; g < ${split ? 'wid.y % G + 1u' : 'G'}; g++) {
      let hq = hk * G + g;
      let qBase = (b * H + hq) * T * ${D}u;
      let sBase = (b * H + hq) * T;
      for (var i0 = tStart; i0 < iEnd; i0 += ${BQ}u) {
        for (var e = li; e < ${BQ}u; e += ${NT}u) {
          let row = i0 + e;
          var ls = 0.0; var di = 0.0;
          if (row < T) { ls = stats[2u * (sBase + row)]; di = stats[2u * (sBase + row) + 1u]; }
          st[2u * e] = ls; st[2u * e + 1u] = di;
        }
        ${rep2(TM, TN, (i, j) => `var s${i}_${j} = 0.0; var dp${i}_${j} = 0.0;`)}
        ${overHeadDim(st, D, stageK, stageQ, `${rep(TM, (i) => `let ka${i} = Ks[${keyL(i)} * ${R4}u + d]; let va${i} = Vs[${keyL(i)} * ${R4}u + d];`)}
          ${rep(TN, (j) => `let qb${j} = Qs[${qL(j)} * ${R4}u + d]; let gb${j} = dOs[${qL(j)} * ${R4}u + d];`)}
          ${rep2(TM, TN, (i, j) => `s${i}_${j} += dot(ka${i}, qb${j}); dp${i}_${j} += dot(va${i}, gb${j});`)}`)}
        if (i0 + ${BQ}u <= T && all_visible(i0, ${BQ}u, j0, ${BK}u, L, causal, window)) {
          ${rep2(TM, TN, (i, j) => pdsOf(i, j, 'true'), '\n          ')}
        } else {
          ${rep2(TM, TN, (i, j) => pdsOf(i, j, `i0 + ${qL(j)} < T && visible(i0 + ${qL(j)}, j0 + ${keyL(i)}, L, causal, window)`), '\n          ')}
        }
        ${overOutputChunks(st, TE, WX, (c0) => (st.chunked ? stageQ(c0) : ''), (es, col, acc) => `for (var jj = 0u; jj < ${BQ}u; jj++) {
          ${rep(TM, (i) => `let pa${i} = Ps[${keyL(i)} * ${BQP}u + jj]; let da${i} = dSs[${keyL(i)} * ${BQP}u + jj];`)}
          ${es.map((e) => `let ob${e} = dOs[jj * ${R4}u + ${col(e)}]; let qb${e} = Qs[jj * ${R4}u + ${col(e)}];`).join(' ')}
          ${rep(TM, (i) => es.map((e) => `${acc('dv', i, e)} += pa${i} * ob${e}; ${acc('dk', i, e)} += da${i} * qb${e};`).join(' '), ' ')}
        }`)}
      }
    }
  }
  ${rep(TM, (i) => `{
    let key = j0 + ${keyL(i)};
    if (key < T) {
      ${rep(TE, (e) => `${storeRow('dk', 'outBase', 'key', dim(e), `${A.at('dk', i, e)} * scale`, D)}
      ${storeRow('dv', 'outBase', 'key', dim(e), A.at('dv', i, e), D)}`, '\n      ')}
    }
  }`, '\n  ')}
}`;
}

/** out[b, hk] = Σ_g x[b, hk·G + g] over [B, Hkv, T·D]; params: output size, G, T·D. */
const GROUP_SUM = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${BUILTINS_1D}) {
  ${FLAT_WORKGROUP}
  let i = wg_flat * 256u + lid.x;
  if (i >= params[0]) { return; }
  let G = params[1]; let n = params[2];
  let head = i / n; let r = i % n;
  var acc = 0.0;
  for (var g = 0u; g < G; g++) { acc += x[(head * G + g) * n + r]; }
  y[i] = acc;
}`;

/**
 * Whether the dK/dV kernel runs one workgroup per query head (then sums the group) rather than
 * per kv head: with grouped-query attention when the grouped grid would have fewer than 1024
 * workgroups (a large GPU has over 100 compute units, each wanting several). Costs two [B, H, T, D]
 * buffers and one small summing pass.
 */
export function splitGroups(d: AttentionDims, tile: AttentionTile, force?: boolean): boolean {
  if (force !== undefined) return force && d.H !== d.Hkv;
  return d.H !== d.Hkv && d.B * d.Hkv * Math.ceil(d.T / tile.BK) < 1024;
}

/**
 * The params buffer: the meta words, then the B lengths (T each, or copied on the device from the
 * keyPadding tensor). The caller releases it after its dispatches (the pool keeps it until the
 * encoder that reads it is submitted).
 */
function paramsBuffer(device: WebGPUDevice, d: AttentionDims, attrs: AttentionAttrs, padding: TensorInfo | undefined): Storage {
  const meta = new Meta()
    // A window of T or more hides nothing; 0 keeps the kernels' u32 sums (j + window) from overflowing.
    .u32(d.T, d.H, d.Hkv, attrs.causal ? 1 : 0, attrs.window >= d.T ? 0 : attrs.window)
    .f32(attrs.scale * Math.LOG2E, attrs.scale)
    .u32(d.Hkv === 0 ? 1 : d.H / d.Hkv)
    .f32(attrs.softcap > 0 ? attrs.scale / attrs.softcap : 0, attrs.softcap * Math.LOG2E)
    .u32(...new Array<number>(d.B).fill(d.T))
    .build();
  const s = device.upload('int32', new Int32Array(meta.buffer, meta.byteOffset, meta.length));
  if (padding) device.copy(padding.storage, 0, s, META_WORDS * 4, d.B * 4);
  return s;
}

function checkDims(d: AttentionDims): void {
  // The grid's y and z carry the heads and the batch.
  if (d.H > 65535 || d.B > 65535) throw new Error(`attention: at most 65535 heads and batch entries per launch, got H ${d.H}, B ${d.B}`);
}

export function launchAttention(device: WebGPUDevice, inputs: TensorInfo[], attrs: AttentionAttrs): TensorInfo[] {
  const [q, k, v] = inputs;
  const padding = attrs.hasPadding ? inputs[3] : undefined;
  const d = attentionDims(q, k, v, padding);
  wgslType(q.dtype);
  checkDims(d);
  const o: TensorInfo = { storage: device.alloc(q.dtype, q.shape.reduce((a, b) => a * b, 1)), shape: [...q.shape], dtype: q.dtype };
  const lse: TensorInfo = { storage: device.alloc(q.dtype, d.B * d.H * d.T), shape: [d.B, d.H, d.T], dtype: q.dtype };
  if (d.B * d.H * d.T === 0) return [o, lse];
  const tile = chooseAttentionTile(device, 'forward', d.D, attrs.version, attrs.headChunk);
  const capped = attrs.softcap > 0;
  const params = paramsBuffer(device, d, attrs, padding);
  device.dispatch({
    name: `attention forward ${tileName(tile)}${capped ? ' soft-capped' : ''}`, code: forwardShader(tile, d.D, capped),
    inputs: [params, q.storage, k.storage, v.storage], outputs: [o.storage, lse.storage],
    workgroups: [Math.ceil(d.T / tile.BQ), d.H, d.B],
  });
  device.release(params);
  return [o, lse];
}

/** Inputs q, k, v, O, dO, LSE (and keyPadding); outputs dQ, dK, dV. */
export function launchAttentionBackward(device: WebGPUDevice, inputs: TensorInfo[], attrs: AttentionAttrs): TensorInfo[] {
  const [q, k, v, o, dO, lse] = inputs;
  const padding = attrs.hasPadding ? inputs[6] : undefined;
  const d = attentionDims(q, k, v, padding);
  wgslType(q.dtype);
  checkDims(d);
  const like = (x: TensorInfo): TensorInfo => ({ storage: device.alloc(x.dtype, x.shape.reduce((a, b) => a * b, 1)), shape: [...x.shape], dtype: x.dtype });
  const dq = like(q), dk = like(k), dv = like(v);
  const rows = d.B * d.H * d.T;
  if (rows === 0) return [dq, dk, dv];
  const fq = chooseAttentionTile(device, 'dq', d.D, attrs.version, attrs.headChunk);
  const fkv = chooseAttentionTile(device, 'dkv', d.D, attrs.version, attrs.headChunk);
  const capped = attrs.softcap > 0;
  const params = paramsBuffer(device, d, attrs, padding);
  const stats = device.alloc('float32', 2 * rows);
  device.dispatch({
    name: 'attention backward delta', code: deltaShader(d.D), meta: new Meta().u32(rows).build(),
    inputs: [o.storage, dO.storage, lse.storage], outputs: [stats], workgroups: grid1d(Math.ceil(rows / 64)),
  });
  device.dispatch({
    name: `attention backward dQ ${tileName(fq)}${capped ? ' soft-capped' : ''}`, code: dqShader(fq, d.D, capped),
    inputs: [params, q.storage, k.storage, v.storage, dO.storage, stats], outputs: [dq.storage],
    workgroups: [Math.ceil(d.T / fq.BQ), d.H, d.B],
  });
  const split = splitGroups(d, fkv, attrs.splitGroups);
  // Split: each query head's share of dK, dV first, then the sum over each group.
  const [dkH, dvH] = split ? [device.alloc('float32', d.B * d.H * d.T * d.D), device.alloc('float32', d.B * d.H * d.T * d.D)] : [dk.storage, dv.storage];
  device.dispatch({
    name: `attention backward dK/dV ${tileName(fkv)}${split ? ' per query head' : ''}${capped ? ' soft-capped' : ''}`, code: dkvShader(fkv, d.D, split, capped),
    inputs: [params, q.storage, k.storage, v.storage, dO.storage, stats], outputs: [dkH, dvH],
    workgroups: [Math.ceil(d.T / fkv.BK), split ? d.H : d.Hkv, d.B],
  });
  if (split) {
    const n = d.B * d.Hkv * d.T * d.D;
    const meta = new Meta().u32(n, d.H / d.Hkv, d.T * d.D).build();
    for (const [from, to] of [[dkH, dk.storage], [dvH, dv.storage]]) {
      device.dispatch({ name: 'attention backward dK/dV group sum', code: GROUP_SUM, meta, inputs: [from], outputs: [to], workgroups: grid1d(Math.ceil(n / 256)) });
      device.release(from);
    }
  }
  device.release(params);
  device.release(stats);
  return [dq, dk, dv];
}

export function registerAttentionWebGPU(): void {
  registerKernel<AttentionAttrs>('attention', 'webgpu', (device, inputs, attrs) => launchAttention(device as WebGPUDevice, inputs, attrs));
  registerKernel<AttentionAttrs>('attentionBackward', 'webgpu', (device, inputs, attrs) => launchAttentionBackward(device as WebGPUDevice, inputs, attrs));
}

// Each generator is cached by its arguments (memoShader): a launch reuses the same source string.
export const forwardShader = memoShader(forwardShaderSource);
const deltaShader = memoShader(deltaShaderSource);
export const dqShader = memoShader(dqShaderSource);
export const dkvShader = memoShader(dkvShaderSource);
