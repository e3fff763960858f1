// The skinny matmul: C = op(A)·op(B) when A has few rows (at most SKINNY_ROWS per group), the
// shape of a decoding step (one new token per sequence, a batch of B ≤ 16 rows against every weight)
// and of the LM head there. It is bound by reading B (the weight) once, not by arithmetic, so the
// kernel is built around reading B at full bandwidth, and around reading it in the form it is
// stored: float32, bfloat16 (two per word) or NF4 (eight 4-bit codes per word, one float32 maximum
// per block of 64), decoded in registers. No float copy of a low-precision weight is ever made.
//
// A workgroup of 256 threads computes C · 256 / L output columns for a group of R ≤ 8 rows: L lanes
// per column walk that column's k range (for a Linear weight, stored [N, K], one contiguous row of
// the weight), each accumulating R partial dot products in registers for each of its C columns,
// then the L lanes' partials are summed by a tree in workgroup memory, one column at a time. C > 1
// (the fast body only) is for several rows: every chunk of A a lane loads then serves C columns,
// so A's loads per weight element fall from R to R / C (on the H200, 8 rows against a 4096-wide
// weight read the weight at 1.5 TB/s with C = 1, against 3.6 TB/s for one row: A's loads, not the
// weight's, were the bound). L is 32 (a warp per column) when K gives every lane at
// least one step, else the largest power of two that does (K = 128 in NF4 is 4 steps of 32: 4
// lanes, 64 columns per workgroup), so no lane idles. The R rows of A are re-read by every
// workgroup; they are small (R·K floats) and stay in cache.
//
// Two bodies:
// - fast (A not transposed, B transposed — X·Wᵀ, the Linear layout — and K a multiple of the
//   chunk): each lane takes a chunk of 8 consecutive k (32 for NF4) per step: two vec4<f32> of a
//   float32 weight, one vec4<u32> of bfloat16, one vec4<u32> of NF4 codes and the block's maximum
//   (the 16 levels are looked up in workgroup memory); a column's lanes read one contiguous run of
//   the weight's row (1 KiB for float32 with 32 lanes). A is read as vec4s along k, 8 k at a time
//   (NF4's chunk in four such steps), each pair of vec4s used for all C columns.
// - generic (any transposes, any K): a lane takes every L-th k, one element at a time, decoded from
//   its flat index in the stored weight.
// The sum order (L lane partials, each over its chunks in k order, then a tree) differs from the
// tiled kernels': results agree to float32 rounding, not bit for bit.
//
// params: [M, N, K, strideA, strideB, strideC]; grid: x over column groups (C · 256 / L columns each), y over row groups,
// z over batch entries.
import type { Storage } from '../../autograd/device.js';
import type { TensorInfo } from '../../autograd/kernel.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { NF4_BLOCK, NF4_LEVELS } from '../nf4/contract.js';
import { MAX_WORKGROUPS_PER_DIM, Meta, memoShader } from '../wgsl.js';
import { GELU_TANH_WGSL, SIGMOID_WGSL } from '../activation/webgpu.js';
import type { GatedActivation } from '../activation/contract.js';
import type { MatmulLayout } from './contract.js';

/** How B is held: float32, bfloat16 (src/kernels/bfloat16) or NF4 codes and block maxima (src/kernels/nf4). */
export type SkinnyFormat = 'float32' | 'bfloat16' | 'nf4';

/** Threads per workgroup. */
export const SKINNY_THREADS = 256;
/** Rows of A per workgroup (the grid's y runs over groups of this many). */
export const SKINNY_ROWS = 8;
/**
 * The most rows the products are sent here with (the default rung, the stored weights): two row
 * groups, the weight read twice, still well under a tiled kernel's 128-row blocks mostly empty
 * (lavapipe, 16 × 576 × 1536: 29.0 ms against v10's 60.6; at 32 rows they tie).
 */
export const SKINNY_MAX_ROWS = 16;
const WG = SKINNY_THREADS;

/** Set by setSkinnyColumns (benchmarks and tests); undefined: skinnyColumns's choice. */
let columnsOverride: number | undefined;

/**
 * Forces the columns per lane (1, 2 or 4) of every later fast-body launch, or restores the default
 * (undefined). For benchmarks and tests, which time and check each choice; not for models.
 */
export function setSkinnyColumns(columns: number | undefined): void {
  if (columns !== undefined && ![1, 2, 4].includes(columns)) throw new Error(`setSkinnyColumns: 1, 2 or 4 columns per lane, not ${columns}`);
  columnsOverride = columns;
}

/**
 * Output columns per lane on the fast body, by the format and the rows of a group only (so a group
 * of weights and its separate products run the same per-column sums, bit for bit). From the H200
 * (bench/results/nvidia-*-only-decode.md, GPU ms, C = 1 / 2 / 4): float32 at 8 rows × 4096 × 14336
 * 0.210 / 0.119 / 0.099, at 4 rows 0.119 / 0.089 / 0.109, at 1 row 0.069 / 0.069 / 0.073; bfloat16
 * alike; NF4, whose decoding is per weight element, gains from C = 4 at every row count (1 row
 * 0.079 / 0.052 / 0.045, 8 rows 0.505 / 0.278 / 0.213). On a software adapter (lavapipe) always 1:
 * there the many C > 1 shaders of a decoding step cost more to compile than they can save (LLVM
 * took 9.2 s for a float32 8-row C = 4 shader against 2.1 s for C = 1, and the test suite's grouped
 * products ran past ava's 5-minute timeout in CI); tests force C to check every choice.
 */
export function skinnyColumns(rows: number, fast: boolean, format: SkinnyFormat, software = false): number {
  if (!fast) return 1;
  if (columnsOverride !== undefined) return columnsOverride;
  if (software) return 1;
  if (format === 'nf4') return 4;
  return rows <= 2 ? 1 : rows <= 4 ? 2 : 4;
}

/** Consecutive k one lane takes per step on the fast body. */
export function skinnyChunk(format: SkinnyFormat): number {
  return format === 'nf4' ? 32 : 8;
}

/** Whether the fast body applies: X·Wᵀ with K a multiple of the chunk. */
export function skinnyFast(format: SkinnyFormat, K: number, transposeA: boolean, transposeB: boolean): boolean {
  return !transposeA && transposeB && K % skinnyChunk(format) === 0;
}

/**
 * Lanes per output column: 32 (one warp) when every lane gets a step of the k loop, else the
 * largest power of two that does.
 */
export function skinnyLanes(format: SkinnyFormat, K: number, fast: boolean): number {
  const steps = fast ? Math.ceil(K / skinnyChunk(format)) : K;
  let lanes = 1;
  while (lanes < 32 && lanes * 2 <= steps) lanes *= 2;
  return lanes;
}

/** Workgroup memory of one launch: the partial sums (and NF4's 16 levels). */
export function skinnyWorkgroupBytes(rows: number, format: SkinnyFormat): number {
  return 4 * (rows * WG + (format === 'nf4' ? 16 : 0));
}

const LEVELS = `array<f32, 16>(${NF4_LEVELS.map((v) => `bitcast<f32>(${new Uint32Array(new Float32Array([v]).buffer)[0]}u)`).join(', ')})`;

/** Bindings: params, a, each weight's parts (wb{i}, or codes{i} and absmax{i}), each output y{i} (one when gated). */
function bindings(format: SkinnyFormat, fast: boolean, count: number, outputs = count): string {
  const lines = ['@group(0) @binding(0) var<storage, read> params: array<u32>;', `@group(0) @binding(1) var<storage, read> a: array<${fast ? 'vec4<f32>' : 'f32'}>;`];
  let next = 2;
  for (let i = 0; i < count; i++) {
    if (format === 'nf4') {
      lines.push(`@group(0) @binding(${next++}) var<storage, read> codes${i}: array<${fast ? 'vec4<u32>' : 'u32'}>;`);
      lines.push(`@group(0) @binding(${next++}) var<storage, read> absmax${i}: array<f32>;`);
    } else {
      const type = format === 'float32' ? (fast ? 'vec4<f32>' : 'f32') : fast ? 'vec4<u32>' : 'u32';
      lines.push(`@group(0) @binding(${next++}) var<storage, read> wb${i}: array<${type}>;`);
    }
  }
  for (let i = 0; i < outputs; i++) lines.push(`@group(0) @binding(${next++}) var<storage, read_write> y${i}: array<f32>;`);
  if (format === 'nf4') lines.push('var<workgroup> lv: array<f32, 16>;');
  return lines.join('\n');
}

/**
 * WGSL that loads one fast-body chunk of weight i for column c (starting at element `e${c}`) as
 * stored: float32 two vec4s, bfloat16 one vec4<u32>, NF4 one vec4<u32> of codes and the block's
 * maximum.
 */
function loadChunk(format: SkinnyFormat, i: number, c: number): string {
  const e = `e${c}`, t = `${i}_${c}`;
  if (format === 'float32') return `let p${t}a = wb${i}[${e} / 4u]; let p${t}b = wb${i}[${e} / 4u + 1u];`;
  if (format === 'bfloat16') return `let q${t} = wb${i}[${e} / 8u];`;
  return `let q${t} = codes${i}[${e} / 32u]; let s${t} = absmax${i}[${e} / ${NF4_BLOCK}u];`;
}

/** WGSL for the two vec4<f32> (w0, w1) of the 8 k at step `j` (0 unless NF4: 0..3) of weight i's column c's loaded chunk. */
function decodeStep(format: SkinnyFormat, i: number, c: number): string {
  const t = `${i}_${c}`;
  if (format === 'float32') return `let w0 = p${t}a; let w1 = p${t}b;`;
  if (format === 'bfloat16') {
    // Word j holds elements 2j (low half) and 2j + 1 (high half).
    return `let w0 = vec4<f32>(lo(q${t}.x), hi(q${t}.x), lo(q${t}.y), hi(q${t}.y)); let w1 = vec4<f32>(lo(q${t}.z), hi(q${t}.z), lo(q${t}.w), hi(q${t}.w));`;
  }
  // NF4: 32 codes (four words, low nibble first) in one block of 64: one maximum. One lookup per
  // code in a 16-entry table: its 16 words sit in 16 banks, so a warp's lookups never conflict (a
  // 256-entry table of level pairs, one lookup per byte, was tried: no clear gain on lavapipe, and
  // random bytes would conflict in its banks on a GPU).
  const nib = (n: number) => `lv[(d${t} >> ${4 * n}u) & 15u]`;
  return `let d${t} = q${t}[j]; let w0 = vec4<f32>(${nib(0)}, ${nib(1)}, ${nib(2)}, ${nib(3)}) * s${t}; let w1 = vec4<f32>(${nib(4)}, ${nib(5)}, ${nib(6)}, ${nib(7)}) * s${t};`;
}

/** WGSL for element e of stored weight i, as f32. */
function decodeElement(format: SkinnyFormat, i: number): string {
  if (format === 'float32') return `wb${i}[e]`;
  if (format === 'bfloat16') return `select(lo(wb${i}[e >> 1u]), hi(wb${i}[e >> 1u]), (e & 1u) == 1u)`;
  return `lv[(codes${i}[e >> 3u] >> (4u * (e & 7u))) & 15u] * absmax${i}[e / ${NF4_BLOCK}u]`;
}

/**
 * One weight's share of the shader: the columns `firstGroup` (a workgroup index) onwards of output
 * y{i}, N columns, C per lane: the k loop, the tree over the lanes (one column at a time), the store.
 * gated (the fast body only): weights 0 (gate) and 1 (up) of one shape in the same loop, each
 * lane's columns of both, and y0 = act(gate) ⊙ up written in place of the two (the SwiGLU or GeGLU
 * kernel's expression on the two sums the separate products compute).
 */
function weightBlock(format: SkinnyFormat, i: number, N: string, firstGroup: string, R: number, L: number, C: number, fast: boolean, tA: boolean, tB: boolean, gated: GatedActivation | false = false): string {
  const rows = Array.from({ length: R }, (_, r) => r), cols = Array.from({ length: C }, (_, c) => c);
  const ws = gated ? [0, 1] : [i];
  const chunk = skinnyChunk(format);
  let body: string;
  if (fast) {
    // A's rows as vec4 indices; a row past M re-reads row M − 1 (its sum is never stored).
    const rowStarts = rows.map((r) => `let x${r} = (a0 + min(m0 + ${r}u, M - 1u) * K) / 4u;`).join(' ');
    // Per 8 k (NF4's 32 in a loop of four, not unrolled: unrolled, a group of two NF4 weights at 8
    // rows × 4 columns took lavapipe's compiler 108 s): each row's two vec4s of A, loaded once and
    // used for every column.
    const step = `${rows.map((r) => `let a${r}0 = a[x${r} + v + 2u * j]; let a${r}1 = a[x${r} + v + 2u * j + 1u];`).join(' ')}
        ${ws.flatMap((w) => cols.map((c) => `{ ${decodeStep(format, w, c)} ${rows.map((r) => `acc${w}_${r}_${c} += dot(a${r}0, w0) + dot(a${r}1, w1);`).join(' ')} }`)).join('\n        ')}`;
    const steps = chunk === 8 ? `{ let j = 0u; ${step} }` : `for (var j = 0u; j < ${chunk / 8}u; j++) {
        ${step}
      }`;
    body = `${rowStarts}
    ${cols.map((c) => `let row${c} = b0 + n${c} * K;`).join(' ')}
    for (var k = lane * ${chunk}u; k < K; k += ${L * chunk}u) {
      let v = k / 4u;
      ${cols.map((c) => `let e${c} = row${c} + k; ${ws.map((w) => loadChunk(format, w, c)).join(' ')}`).join('\n      ')}
      ${steps}
    }`;
  } else {
    if (gated) throw new Error('skinny matmul: the gated product takes the fast body only');
    const aAt = (r: number) => (tA ? `a[a0 + k * M + min(m0 + ${r}u, M - 1u)]` : `a[a0 + min(m0 + ${r}u, M - 1u) * K + k]`);
    body = `for (var k = lane; k < K; k += ${L}u) {
      let e = ${tB ? 'b0 + n0 * K + k' : 'b0 + k * N + n0'};
      let w = ${decodeElement(format, i)};
      ${rows.map((r) => `acc${i}_${r}_0 += ${aAt(r)} * w;`).join(' ')}
    }`;
  }
  // The lanes' partial sums of weight w's column c, summed by a tree into lane 0's slots of red.
  const tree = (w: number, c: number) => `${rows.map((r) => `red[${r * WG}u + lid.x] = acc${w}_${r}_${c};`).join(' ')}
  workgroupBarrier();
  for (var s = ${L >> 1}u; s > 0u; s = s >> 1u) {
    if (lane < s) { ${rows.map((r) => `red[${r * WG}u + lid.x] += red[${r * WG}u + lid.x + s];`).join(' ')} }
    workgroupBarrier();
  }`;
  const at = (r: number, c: number) => `c0 + (m0 + ${r}u) * N + col0 + ${c}u`;
  // Gated: the gate's sums kept in lane 0's registers while the up projection's take red (each
  // thread reads and writes only its own slots between the two trees: no barrier needed).
  const reduce = cols.map((c) => gated
    ? `${tree(0, c)}
  if (lane == 0u) { ${rows.map((r) => `g${r} = red[${r * WG}u + lid.x];`).join(' ')} }
  ${tree(1, c)}
  if (lane == 0u && col0 + ${c}u < N) {
    ${rows.map((r) => `if (m0 + ${r}u < M) { y0[${at(r, c)}] = ${gatedExpression(gated as GatedActivation, `g${r}`, `red[${r * WG}u + lid.x]`)}; }`).join('\n    ')}
  }`
    : `${tree(i, c)}
  if (lane == 0u && col0 + ${c}u < N) {
    ${rows.map((r) => `if (m0 + ${r}u < M) { y${i}[${at(r, c)}] = red[${r * WG}u + lid.x]; }`).join('\n    ')}
  }`).join('\n  ');
  return `let N = ${N};
  let col0 = (wid.x - ${firstGroup}) * ${(WG / L) * C}u + lid.x / ${L}u * ${C}u;
  // Columns past N compute column N − 1 again (no early return before the barriers).
  ${cols.map((c) => `let n${c} = min(col0 + ${c}u, N - 1u);`).join(' ')}
  ${ws.flatMap((w) => rows.flatMap((r) => cols.map((c) => `var acc${w}_${r}_${c} = 0.0;`))).join(' ')}
  ${gated ? rows.map((r) => `var g${r} = 0.0;`).join(' ') : ''}
  {
    ${body}
  }
  ${reduce}`;
}

/** WGSL of act(g) ⊙ u, exactly as the swiglu and geglu kernels write it (so the results agree bit for bit). */
function gatedExpression(activation: GatedActivation, g: string, u: string): string {
  return activation === 'silu' ? `${g} * sigmoid_pair(${g}).x * ${u}` : `gelu_tanh(${g}) * ${u}`;
}

/**
 * count = 1: params [M, N, K, strideA, strideB, strideC], grid z over batch entries. count > 1 (a
 * group of weights sharing x, one batch entry): params [M, 0, K, 0, 0, 0, N₀ … N₍count−1₎, first
 * workgroup of each weight's columns …]; each workgroup computes columns of one weight only (a
 * branch on its index, uniform across the workgroup). gated (count 2, X·Wᵀ, the fast body): params
 * [M, N, K, 0, 0, 0]; every workgroup computes the same columns of both weights and writes
 * act(gate) ⊙ up to the one output (act: the `gated` activation).
 */
function skinnyShaderSource(format: SkinnyFormat, R: number, L: number, C: number, fast: boolean, tA: boolean, tB: boolean, count = 1, gated: GatedActivation | false = false): string {
  const nf4Levels = format === 'nf4' ? `if (lid.x < 16u) { var levels = ${LEVELS}; lv[lid.x] = levels[lid.x]; }
  workgroupBarrier();` : '';
  const bf16 = format === 'bfloat16'
    ? 'fn lo(w: u32) -> f32 { return bitcast<f32>(w << 16u); }\nfn hi(w: u32) -> f32 { return bitcast<f32>(w & 0xffff0000u); }'
    : '';
  const blocks = count === 1 || gated
    ? weightBlock(format, 0, 'params[1]', '0u', R, L, C, fast, tA, tB, gated)
    : Array.from({ length: count }, (_, i) => {
      const first = `params[${6 + count + i}]`;
      const cond = i === count - 1 ? `wid.x >= ${first}` : `wid.x >= ${first} && wid.x < params[${6 + count + i + 1}]`;
      return `if (${cond}) {
  ${weightBlock(format, i, `params[${6 + i}]`, first, R, L, C, fast, tA, tB)}
  }`;
    }).join('\n  ');
  return /* wgsl */ `${bindings(format, fast, count, gated ? 1 : count)}
var<workgroup> red: array<f32, ${R * WG}>;
${bf16}
${gated ? SIGMOID_WGSL : ''}
${gated === 'gelu_tanh' ? GELU_TANH_WGSL : ''}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = params[0]; let K = params[2];
  let a0 = wid.z * params[3]; let b0 = wid.z * params[4]; let c0 = wid.z * params[5];
  let lane = lid.x % ${L}u;
  let m0 = wid.y * ${R}u;
  ${nf4Levels}
  ${blocks}
}`;
}

/** The shader, cached by its arguments: format, rows per group, lanes and columns per lane, fast body, transposes, weights, gated. */
export const skinnyShader = memoShader(skinnyShaderSource);

/**
 * Queues C = op(A)·op(B) with the skinny kernel; `b` is B's storage in `format` (NF4: codes, then
 * block maxima). Any layout runs (the generic body where the fast one does not apply).
 */
export function dispatchSkinny(device: WebGPUDevice, a: TensorInfo, b: Storage[], out: TensorInfo, l: MatmulLayout, format: SkinnyFormat, transposeA = false, transposeB = false): void {
  if (l.batch * l.M * l.N === 0) return;
  const R = Math.min(l.M, SKINNY_ROWS);
  const fast = skinnyFast(format, l.K, transposeA, transposeB);
  const L = skinnyLanes(format, l.K, fast), C = skinnyColumns(R, fast, format, device.softwareAdapter);
  const gx = Math.ceil(l.N / ((WG / L) * C)), gy = Math.ceil(l.M / R);
  if (gx > MAX_WORKGROUPS_PER_DIM || gy > MAX_WORKGROUPS_PER_DIM || l.batch > MAX_WORKGROUPS_PER_DIM) {
    throw new Error(`matmul (skinny): an output of ${l.batch}×${l.M}×${l.N} needs ${l.batch}×${gy}×${gx} workgroups, over WebGPU's ${MAX_WORKGROUPS_PER_DIM} per dimension`);
  }
  const name = `matmul skinny ${format}${transposeA ? ' Aᵀ' : ''}${transposeB ? ' Bᵀ' : ''}`;
  device.dispatch({
    name,
    code: skinnyShader(format, R, L, C, fast, transposeA, transposeB),
    meta: new Meta().u32(l.M, l.N, l.K, l.strideA, l.strideB, l.strideC).build(),
    inputs: [a.storage, ...b],
    outputs: [out.storage],
    workgroups: [gx, gy, l.batch],
  });
}

/**
 * Queues Y = act(X·Gᵀ) ⊙ (X·Uᵀ) (a decoding step's gate/up projections and SwiGLU or GeGLU) as one
 * launch, the same sums as the two products (skinnyColumns depends on the format and rows only) and
 * the activation kernel's expression on them. X [M, K] with M ≤ SKINNY_MAX_ROWS, G and U [N, K] held in
 * `format`, K a multiple of the fast body's chunk (skinnyFast).
 */
export function dispatchSkinnyGated(device: WebGPUDevice, a: TensorInfo, gate: Storage[], up: Storage[], out: TensorInfo, M: number, K: number, N: number, format: SkinnyFormat, activation: GatedActivation = 'silu'): void {
  if (M === 0 || N === 0) return;
  if (!skinnyFast(format, K, false, true)) throw new Error(`matmul (skinny, gated): K = ${K} is not a multiple of ${skinnyChunk(format)} (${format})`);
  const R = Math.min(M, SKINNY_ROWS);
  const L = skinnyLanes(format, K, true), C = skinnyColumns(R, true, format, device.softwareAdapter);
  device.dispatch({
    name: `matmul skinny ${format} Bᵀ gated${activation === 'silu' ? '' : ` ${activation}`}`,
    code: skinnyShader(format, R, L, C, true, false, true, 2, activation),
    meta: new Meta().u32(M, N, K, 0, 0, 0).build(),
    inputs: [a.storage, ...gate, ...up],
    outputs: [out.storage],
    workgroups: [Math.ceil(N / ((WG / L) * C)), Math.ceil(M / R), 1],
  });
}

/**
 * Queues Yᵢ = X·Wᵢᵀ for a group of weights sharing X (a layer's q/k/v or gate/up projections) as
 * one launch: each workgroup takes columns of one weight. Falls back to one launch per weight
 * where the device allows fewer storage buffers than the group needs (maxStorageBuffers: the
 * device's limit; a test passes a lower one).
 */
export function dispatchSkinnyGroup(device: WebGPUDevice, a: TensorInfo, weights: Storage[][], outs: TensorInfo[], M: number, K: number, Ns: number[], format: SkinnyFormat, maxStorageBuffers = device.limits.maxStorageBuffersPerShaderStage): void {
  const one = (i: number) => dispatchSkinny(device, a, weights[i], outs[i], { batch: 1, M, N: Ns[i], K, strideA: 0, strideB: 0, strideC: 0, outShape: [M, Ns[i]] }, format, false, true);
  if (M === 0 || K === 0) return Ns.forEach((_, i) => one(i));
  const buffers = 2 + weights.flat().length + outs.length; // params, x, the weights' parts, the outputs
  if (weights.length === 1 || buffers > maxStorageBuffers) return Ns.forEach((_, i) => one(i));
  const R = Math.min(M, SKINNY_ROWS);
  const fast = skinnyFast(format, K, false, true);
  const L = skinnyLanes(format, K, fast), C = skinnyColumns(R, fast, format, device.softwareAdapter);
  const firsts: number[] = [];
  let gx = 0;
  for (const N of Ns) {
    firsts.push(gx);
    gx += Math.ceil(N / ((WG / L) * C));
  }
  if (gx > MAX_WORKGROUPS_PER_DIM) return Ns.forEach((_, i) => one(i));
  device.dispatch({
    name: `matmul skinny ${format} Bᵀ ×${Ns.length}`,
    code: skinnyShader(format, R, L, C, fast, false, true, Ns.length),
    meta: new Meta().u32(M, 0, K, 0, 0, 0, ...Ns, ...firsts).build(),
    inputs: [a.storage, ...weights.flat()],
    outputs: outs.map((o) => o.storage),
    workgroups: [gx, Math.ceil(M / R), 1],
  });
}
