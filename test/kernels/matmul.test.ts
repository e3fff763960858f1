import test from 'ava';
import * as r from '../../src/index.js';
import type { Device, Tensor } from '../../src/index.js';
import { assertMaxRel, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';
import { vec4Splits } from '../../src/kernels/matmul/vec4.js';
import { MATMUL_VEC4_LARGE_BLOCK, MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER, MATMUL_VEC4_LARGE_BLOCK_SPLIT_384, MATMUL_VEC4_SMALL_BLOCK_SPLIT_K, MATMUL_VEC4_SPLIT_K, MATMUL_VEC4_TALL_BLOCK_SPLIT_K, MATMUL_VEC4_TINY_BLOCK_SPLIT_K, MATMUL_VERSIONS, matmulVersionFits, matmulVersionNeeds } from '../../src/kernels/matmul/webgpu.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Float32-representable values, so the WebGPU kernel and the float64 CPU reference start from the
 * same numbers and differ only in how they accumulate.
 */
const f32Values = (n: number, seed: number) => randomValues(n, seed).map(Math.fround);


interface Case {
  a: number[];
  b: number[];
  opts?: r.MatmulOptions;
  /** The torch.matmul result shape. */
  out: number[];
}

/** Awkward shapes: 1, primes, not multiples of any tile (16, 64, 128), batched, broadcast, 1-D, empty. */
const CASES: Case[] = [
  { a: [1, 1], b: [1, 1], out: [1, 1] },
  { a: [7, 13], b: [13, 5], out: [7, 5] },
  { a: [65, 17], b: [17, 129], out: [65, 129] },
  { a: [37, 70], b: [70, 19], opts: { transposeA: false, transposeB: false }, out: [37, 19] },
  { a: [70, 37], b: [70, 19], opts: { transposeA: true }, out: [37, 19] },
  { a: [37, 70], b: [19, 70], opts: { transposeB: true }, out: [37, 19] },
  { a: [70, 37], b: [19, 70], opts: { transposeA: true, transposeB: true }, out: [37, 19] },
  { a: [3, 33, 17], b: [3, 17, 65], out: [3, 33, 65] },
  { a: [3, 17, 33], b: [3, 65, 17], opts: { transposeA: true, transposeB: true }, out: [3, 33, 65] },
  // Broadcast batch that must be materialised, on both sides.
  { a: [2, 1, 9, 11], b: [3, 11, 6], out: [2, 3, 9, 6] },
  // b one matrix for the whole batch: a's batch folds into M.
  { a: [4, 5, 7], b: [7, 3], out: [4, 5, 3] },
  // Same, but a transposed: no fold, b read with batch stride 0.
  { a: [4, 7, 5], b: [1, 7, 3], opts: { transposeA: true }, out: [4, 5, 3] },
  // a one matrix for the whole batch.
  { a: [5, 7], b: [4, 3, 7], opts: { transposeB: true }, out: [4, 5, 3] },
  { a: [1, 1, 5, 7], b: [2, 7, 3], out: [1, 2, 5, 3] },
  // 1-D operands, as torch.matmul.
  { a: [7], b: [7, 3], out: [3] },
  { a: [4, 7], b: [7], out: [4] },
  { a: [7], b: [7], out: [] },
  { a: [7], b: [2, 7, 3], out: [2, 3] },
  { a: [2, 4, 7], b: [7], out: [2, 4] },
  // Multiples of 4 (the vec4 rungs' vec4 loads and stores) but not of any tile, in every transpose
  // combination; batched; b shared by the batch; exactly one 128×128 tile.
  { a: [68, 36], b: [36, 132], out: [68, 132] },
  { a: [36, 68], b: [36, 132], opts: { transposeA: true }, out: [68, 132] },
  { a: [68, 36], b: [132, 36], opts: { transposeB: true }, out: [68, 132] },
  { a: [36, 68], b: [132, 36], opts: { transposeA: true, transposeB: true }, out: [68, 132] },
  { a: [3, 20, 8], b: [3, 8, 12], out: [3, 20, 12] },
  { a: [3, 8, 20], b: [8, 12], opts: { transposeA: true }, out: [3, 20, 12] },
  { a: [2, 12, 8], b: [8, 12], out: [2, 12, 12] },
  { a: [128, 32], b: [32, 128], out: [128, 128] },
  // K a multiple of 4 but N not (A vec4, B and C scalar), and the reverse.
  { a: [9, 8], b: [8, 13], out: [9, 13] },
  { a: [9, 7], b: [7, 16], out: [9, 16] },
  // Empty: K = 0 gives zeros; M = 0 or a batch of 0 gives an empty result.
  { a: [3, 0], b: [0, 4], out: [3, 4] },
  { a: [2, 3, 0], b: [0, 4], out: [2, 3, 4] },
  { a: [0, 5], b: [5, 3], out: [0, 3] },
  { a: [0, 2, 5], b: [5, 3], out: [0, 2, 3] },
  { a: [4, 0], b: [0, 8], out: [4, 8] },
];

const describe = (c: Case) => `[${c.a}]${c.opts?.transposeA ? 'ᵀ' : ''} @ [${c.b}]${c.opts?.transposeB ? 'ᵀ' : ''}`;

async function product(device: Device, c: Case, seed: number, dtype: 'float32' | 'float64', version?: number): Promise<{ shape: readonly number[]; data: number[] }> {
  const y = r.tidy(() => r.matmul(
    r.tensor(f32Values(size(c.a), seed), c.a, { device, dtype }),
    r.tensor(f32Values(size(c.b), seed + 1), c.b, { device, dtype }),
    { ...c.opts, version },
  ));
  const data = await values(y);
  const shape = y.shape;
  y.dispose();
  return { shape, data };
}

test('cpu reference: a hand-computed product', async (t) => {
  const a = r.tensor([[1, 2, 3], [4, 5, 6]], undefined, { device: cpu });
  const b = r.tensor([[7, 8], [9, 10], [11, 12]], undefined, { device: cpu });
  t.deepEqual(await values(r.matmul(a, b)), [58, 64, 139, 154]);
  t.deepEqual(await values(a.matmul(b)), [58, 64, 139, 154]);
  t.deepEqual(await values(r.matmul(a, a, { transposeB: true })), [14, 32, 32, 77]);
  t.deepEqual(await values(r.matmul(a, a, { transposeA: true })), [17, 22, 27, 22, 29, 36, 27, 36, 45]);
});

test('cpu reference: transpose flags agree with materialised transposes, and shapes follow torch.matmul', async (t) => {
  for (const [k, c] of CASES.entries()) {
    const got = await product(cpu, c, 10 + k, 'float64');
    t.deepEqual([...got.shape], c.out, describe(c));
    if (c.a.length < 2 || c.b.length < 2) continue;
    const a = r.tensor(f32Values(size(c.a), 10 + k), c.a, { device: cpu, dtype: 'float64' });
    const b = r.tensor(f32Values(size(c.b), 11 + k), c.b, { device: cpu, dtype: 'float64' });
    const plain = r.matmul(c.opts?.transposeA ? r.transpose(a) : a, c.opts?.transposeB ? r.transpose(b) : b);
    assertMaxRel(t, got.data, await values(plain), 1e-14, describe(c));
  }
});

for (const v of MATMUL_VERSIONS) {
  test(`webgpu v${v.version} (${v.name}) matches the cpu reference on awkward shapes`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    for (const [k, c] of CASES.entries()) {
      const want = await product(cpu, c, 10 + k, 'float64');
      const got = await product(gpu, c, 10 + k, 'float32', v.version);
      t.deepEqual([...got.shape], c.out, describe(c));
      assertMaxRel(t, got.data, want.data, 1e-5, `v${v.version} ${describe(c)}`);
      if (c.a[c.a.length - 1] === 0 && size(c.out) > 0) t.true(got.data.every((x) => x === 0), `${describe(c)}: K = 0 gives exact zeros`);
    }
  });
}

/** Every rung but the naive one, and the default choice (undefined). */
const TILED_VERSIONS = [undefined, ...MATMUL_VERSIONS.filter((v) => v.version > 0).map((v) => v.version)];

for (const [M, K, N] of [[513, 257, 129], [516, 260, 132]]) {
  test(`webgpu: ${M}×${K} @ ${K}×${N} matches the cpu reference to 1e-5 relative, in every transpose combination and tiled version`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const c: Case = { a: transposeA ? [K, M] : [M, K], b: transposeB ? [N, K] : [K, N], opts: { transposeA, transposeB }, out: [M, N] };
      const want = await product(cpu, c, 3, 'float64');
      for (const version of TILED_VERSIONS) {
        const got = await product(gpu, c, 3, 'float32', version);
        t.deepEqual([...got.shape], [M, N]);
        assertMaxRel(t, got.data, want.data, 1e-5, `${describe(c)} v${version ?? ' default'}`);
      }
    }
  });
}

test('webgpu: the vec4 rungs are right whichever of M, K, N are multiples of 4, in every transpose combination, batched and with b shared', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const vec4 = MATMUL_VERSIONS.filter((v) => v.vec4).map((v) => v.version);
  t.true(vec4.length > 0);
  let k = 0;
  for (const M of [36, 37]) {
    for (const K of [20, 21]) {
      for (const N of [68, 67]) {
        for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
          const a = transposeA ? [K, M] : [M, K], b = transposeB ? [N, K] : [K, N];
          // Batched both sides (batch offsets of the vec4 indices), then b one matrix for the batch.
          for (const c of [{ a: [2, ...a], b: [2, ...b], out: [2, M, N] }, { a: [2, ...a], b, out: [2, M, N] }] as Case[]) {
            c.opts = { transposeA, transposeB };
            const want = await product(cpu, c, 40 + k, 'float64');
            for (const version of vec4) {
              const got = await product(gpu, c, 40 + k, 'float32', version);
              t.deepEqual([...got.shape], c.out);
              assertMaxRel(t, got.data, want.data, 1e-5, `v${version} ${describe(c)}`);
            }
            k++;
          }
        }
      }
    }
  }
});

/** The rungs that split K (v5-v8, v10, v11). */
const SPLIT_K_VERSIONS = MATMUL_VERSIONS.filter((v) => v.vec4?.splitK);

test('split-K plans: slices of at least minK, multiples of BK, covering K, and only for outputs of few blocks', (t) => {
  t.deepEqual(SPLIT_K_VERSIONS.map((v) => v.version), [MATMUL_VEC4_SPLIT_K, MATMUL_VEC4_SMALL_BLOCK_SPLIT_K, MATMUL_VEC4_TINY_BLOCK_SPLIT_K, MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER, MATMUL_VEC4_TALL_BLOCK_SPLIT_K, MATMUL_VEC4_LARGE_BLOCK_SPLIT_384]);
  const plan = (version: number, M: number, K: number, N: number, batch = 1) =>
    vec4Splits(MATMUL_VERSIONS[version].vec4!, { M, N, K, batch, strideA: 0, strideB: 0, strideC: 0, outShape: [] }, 2 ** 31);
  // [M, K, N, batch] → S for v5 (128×128, target 256), v6 (64×64, target 512), v7 (32×64, target
  // 1024), v8 (128×128, BK 16, target 256), v10 (128×64, BK 8, target 512), v11 (v8, target 384). 2053 = 16 slices of 136 and a last one of 13 for v5 (BK 8), 15 of 144 (last 37) for
  // v6/v7 (BK 16); no split when K is too shallow for two slices of 128 or the output is big
  // enough; the H200 shapes: 512×576×1536 and 1024³ split for the small blocks, 1024×1024×2048 not
  // for v6 (512 blocks of 64×64), 2048² not for v7 (2048 blocks of 32×64), the TinyLlama up
  // projection only for v5 (v6: 704 blocks, v7: 1408).
  const table: [number[], number[]][] = [
    [[37, 2053, 19, 1], [16, 15, 15, 15, 16, 15]],
    [[36, 1028, 20, 1], [8, 8, 8, 8, 8, 8]],
    [[20, 300, 12, 3], [2, 2, 2, 2, 2, 2]],
    [[36, 255, 20, 1], [1, 1, 1, 1, 1, 1]],
    [[2048, 4096, 2048, 1], [1, 1, 1, 1, 1, 2]],
    [[512, 576, 1536, 1], [4, 3, 3, 4, 4, 4]],
    [[1024, 1024, 1024, 1], [4, 2, 2, 4, 4, 6]],
    [[1024, 1024, 2048, 1], [2, 1, 1, 2, 2, 3]],
    [[512, 2048, 5632, 1], [2, 1, 1, 2, 2, 3]],
  ];
  for (const [[M, K, N, batch], want] of table) {
    for (const [i, v] of SPLIT_K_VERSIONS.entries()) {
      const { S, kChunk } = plan(v.version, M, K, N, batch);
      const what = `v${v.version} ${M}×${K}×${N}×${batch}`;
      t.is(S, want[i], what);
      if (S === 1) continue;
      t.true(kChunk % v.vec4!.BK === 0 && kChunk >= v.vec4!.splitK!.minK, `${what}: slice ${kChunk}`);
      t.true((S - 1) * kChunk < K && S * kChunk >= K, `${what}: ${S} slices of ${kChunk} cover K once`);
    }
  }
});

// Serial: buffers freed by tests running beside it would change the live count.
for (const v of SPLIT_K_VERSIONS) {
  test.serial(`webgpu: split-K (v${v.version}) sums its K slices right, uneven last slice, batched, every transpose, and frees its scratch buffer`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    let k = 0;
    for (const [M, K, N, batch] of [[37, 2053, 19, 1], [36, 1028, 20, 1], [20, 300, 12, 3]]) {
      for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const a = transposeA ? [K, M] : [M, K], b = transposeB ? [N, K] : [K, N];
        const c: Case = batch > 1 ? { a: [batch, ...a], b, opts: { transposeA, transposeB }, out: [batch, M, N] } : { a, b, opts: { transposeA, transposeB }, out: [M, N] };
        const want = await product(cpu, c, 60 + k, 'float64');
        const before = gpu.memory().liveBuffers;
        const got = await product(gpu, c, 60 + k, 'float32', v.version);
        t.is(gpu.memory().liveBuffers, before, `${describe(c)}: live buffers`);
        assertMaxRel(t, got.data, want.data, 1e-5, `v${v.version} ${describe(c)}`);
        k++;
      }
    }
  });
}

test('the default version for the bench shapes is the one docs/kernels.md reports (H200 timings)', (t) => {
  const choose = (M: number, K: number, N: number, batch = 1) => r.chooseMatmulVersion({ M, N, K, batch, strideA: 0, strideB: 0, strideC: 0, outShape: [] });
  t.is(choose(1024, 1024, 1024), MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER);
  t.is(choose(4096, 4096, 4096), MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER);
  t.is(choose(2048, 2048, 2048), MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER);
  t.is(choose(512, 576, 1536), MATMUL_VEC4_TALL_BLOCK_SPLIT_K);
  t.is(choose(512, 2048, 5632), MATMUL_VEC4_LARGE_BLOCK_SPLIT_384);
  t.is(choose(512, 5632, 2048), MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER);
  // The train step's projections (SmolLM-135M, 8192 tokens): 576 and 192 wide outputs pad their
  // 128×128 blocks by 11% and 33%, and so does the lm_head's input gradient (8192×49152 @ 49152×576);
  // its logits (8192×49152) and weight gradient (49152×576, 1920 blocks) are big enough for v8.
  t.is(choose(8192, 576, 576), MATMUL_VEC4_TALL_BLOCK_SPLIT_K);
  t.is(choose(8192, 1536, 576), MATMUL_VEC4_TALL_BLOCK_SPLIT_K);
  t.is(choose(8192, 576, 192), MATMUL_VEC4_TALL_BLOCK_SPLIT_K);
  t.is(choose(576, 8192, 1536), MATMUL_VEC4_TALL_BLOCK_SPLIT_K);
  t.is(choose(8192, 576, 1536), MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER);
  t.is(choose(8192, 576, 49152), MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER);
  t.is(choose(8192, 49152, 576), MATMUL_VEC4_TALL_BLOCK_SPLIT_K);
  t.is(choose(49152, 8192, 576), MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER);
  t.is(choose(4160, 4096, 4096), MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER, '1.5% padding');
  t.is(choose(2, 3, 1), 0);
  t.is(choose(8, 64, 4096), 0, 'thin');
});

test('every version fits WebGPU\'s default limits (256 invocations, 16 KiB of workgroup memory)', (t) => {
  const defaults = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384 };
  for (const { version } of MATMUL_VERSIONS) {
    const n = matmulVersionNeeds(version);
    t.true(matmulVersionFits(version, defaults), `v${version}: ${JSON.stringify(n)}`);
  }
  t.false(matmulVersionFits(MATMUL_VEC4_LARGE_BLOCK, { maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupStorageSize: 16384 }));
  // v7's 32×64 block: 128 threads and 12 KiB, so it also runs where v3-v6 do not.
  t.deepEqual(matmulVersionNeeds(MATMUL_VEC4_TINY_BLOCK_SPLIT_K), { invocations: 128, workgroupBytes: 12288 });
  t.true(matmulVersionFits(MATMUL_VEC4_TINY_BLOCK_SPLIT_K, { maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupStorageSize: 12288 }));
});

test('webgpu: more than 65535 batch entries run as several launches', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const c: Case = { a: [70001, 1, 2], b: [70001, 2, 3], out: [70001, 1, 3] };
  const want = await product(cpu, c, 5, 'float64');
  const got = await product(gpu, c, 5, 'float32');
  assertMaxRel(t, got.data, want.data, 1e-6, describe(c));
});

// Serial: tests running beside it would add their own pipelines to the count.
test.serial('webgpu: the pipeline cache holds one pipeline per version, transpose combination and vec4 alignment, whatever the shapes', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const combos = [{}, { transposeA: true }, { transposeB: true }, { transposeA: true, transposeB: true }];
  const shaped = (m: number, k: number, n: number, opts: r.MatmulOptions): Case => ({ a: opts.transposeA ? [k, m] : [m, k], b: opts.transposeB ? [n, k] : [k, n], opts, out: [m, n] });
  for (const { version, vec4, skinny } of MATMUL_VERSIONS) {
    // v0-v2: one shader per transpose combination. The vec4 rungs: also one per alignment class
    // (which of M, K, N are multiples of 4), so warm up with all eight classes. The skinny rung:
    // one per row-group height (1-8), lanes per column (1-32, from K) and whether its fast body
    // applies (X·Wᵀ with K a multiple of 8; K = lanes + 1 gives Bᵀ the generic body at each width).
    const lanes = [1, 2, 4, 8, 16, 32];
    const warm = vec4 ? [2, 4].flatMap((m) => [2, 4].flatMap((k) => [2, 4].map((n) => [m, k, n])))
      : skinny ? [1, 2, 3, 4, 5, 6, 7, 8].flatMap((m) => lanes.flatMap((k) => [[m, k, 2], [m, k + 1, 2], [m, 8 * k, 2]]))
      : [[2, 2, 2]];
    for (const opts of combos) for (const [m, k, n] of warm) await product(gpu, shaped(m, k, n, opts), 1, 'float32', version);
    const before = gpu.pipelineCount;
    for (const [m, k, n] of [[3, 5, 7], [100, 3, 1], [1, 200, 70], [130, 0, 129], [8, 12, 132], [132, 36, 20], [0, 4, 4]]) {
      for (const opts of combos) await product(gpu, shaped(m, k, n, opts), 2, 'float32', version);
    }
    t.is(gpu.pipelineCount, before, `v${version}`);
  }
});

interface GradCase {
  a: number[];
  b: number[];
  opts?: r.MatmulOptions;
}

/** Every path of the op: plain, each transpose, materialised broadcast, folded batch, stride-0 reuse, 1-D. */
const GRAD_CASES: GradCase[] = [
  { a: [3, 4], b: [4, 5] },
  { a: [2, 1, 3, 4], b: [3, 4, 5] },
  { a: [2, 1, 4, 3], b: [3, 4, 5], opts: { transposeA: true } },
  { a: [2, 1, 3, 4], b: [3, 5, 4], opts: { transposeB: true } },
  { a: [2, 1, 4, 3], b: [3, 5, 4], opts: { transposeA: true, transposeB: true } },
  { a: [2, 3, 4], b: [4, 5] },
  { a: [2, 4, 3], b: [4, 5], opts: { transposeA: true } },
  { a: [3, 4], b: [2, 5, 4], opts: { transposeB: true } },
  { a: [4, 3], b: [2, 5, 4], opts: { transposeA: true, transposeB: true } },
  { a: [4], b: [2, 4, 5] },
  { a: [2, 3, 4], b: [4] },
  { a: [4], b: [4] },
];

for (const [k, c] of GRAD_CASES.entries()) {
  test(`gradcheck: ${describe({ ...c, out: [] })}`, async (t) => {
    const a = r.tensor(randomValues(size(c.a), 100 + k), c.a, { device: cpu, dtype: 'float64', requiresGrad: true });
    const b = r.tensor(randomValues(size(c.b), 200 + k), c.b, { device: cpu, dtype: 'float64', requiresGrad: true });
    const res = await r.gradcheck((x, y) => r.matmul(x, y, c.opts), [a, b]);
    t.true(res.ok, JSON.stringify(res));
  });
}

/** Gradients of Σ w ⊙ matmul(a, b) for a fixed random w, on one device. */
async function grads(device: Device, c: GradCase, seed: number, dtype: 'float32' | 'float64'): Promise<number[][]> {
  const a = r.tensor(f32Values(size(c.a), seed), c.a, { device, dtype, requiresGrad: true });
  const b = r.tensor(f32Values(size(c.b), seed + 1), c.b, { device, dtype, requiresGrad: true });
  r.tidy(() => {
    const y = r.matmul(a, b, c.opts);
    const w = r.tensor(f32Values(y.size, seed + 2), y.shape, { device, dtype });
    r.sum(r.mul(y, w)).backward();
  });
  const out = [await values(a.grad!), await values(b.grad!)];
  a.dispose();
  b.dispose();
  return out;
}

test('webgpu: dA and dB match the cpu reference through transposes and batch broadcasting', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const cases: GradCase[] = [
    ...GRAD_CASES,
    { a: [2, 1, 33, 70], b: [3, 19, 70], opts: { transposeB: true } },
    { a: [5, 70, 33], b: [70, 19], opts: { transposeA: true } },
    { a: [5, 33, 70], b: [70, 19] },
  ];
  for (const [k, c] of cases.entries()) {
    const want = await grads(cpu, c, 300 + k, 'float64');
    const got = await grads(gpu, c, 300 + k, 'float32');
    assertMaxRel(t, got[0], want[0], 1e-5, `dA of ${describe({ ...c, out: [] })}`);
    assertMaxRel(t, got[1], want[1], 1e-5, `dB of ${describe({ ...c, out: [] })}`);
  }
});

test('forward and backward inside tidy() leave only the gradients alive', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    for (const c of [GRAD_CASES[1], GRAD_CASES[6], GRAD_CASES[9]]) {
      const a = r.tensor(randomValues(size(c.a), 1), c.a, { device, requiresGrad: true });
      const b = r.tensor(randomValues(size(c.b), 2), c.b, { device, requiresGrad: true });
      const before = device.memory().liveBuffers;
      r.tidy(() => r.sum(r.matmul(a, b, c.opts)).backward());
      t.is(device.memory().liveBuffers, before + 2, `${device.kind} ${describe({ ...c, out: [] })}`);
      a.dispose();
      b.dispose();
    }
  }
});

test('bad operands get errors that say what is wrong', (t) => {
  const a = r.zeros([2, 3], { device: cpu });
  t.throws(() => r.matmul(a, r.zeros([4, 5], { device: cpu })), { message: /inner dimensions differ.*\(3 vs 4\)/ });
  t.throws(() => r.matmul(r.zeros([2, 2, 3], { device: cpu }), r.zeros([3, 3, 4], { device: cpu })), { message: /batch dimensions.*do not broadcast/ });
  t.throws(() => r.matmul(a, r.zeros([3, 2], { device: cpu, dtype: 'float64' })), { message: /dtype mismatch/ });
  t.throws(() => r.matmul(r.zeros([2, 3], { device: cpu, dtype: 'int32' }), r.zeros([3, 2], { device: cpu, dtype: 'int32' })), { message: /int32/ });
  t.throws(() => r.matmul(r.zeros([], { device: cpu }), a), { message: /rank ≥ 1/ });
});

test('matmulCost counts 2·M·N·K flops per batch entry and each operand read once', (t) => {
  t.deepEqual(r.matmulCost([2, 3, 4], [4, 5]), { flops: 2 * 2 * 3 * 5 * 4, bytes: 4 * (2 * 3 * 4 + 4 * 5 + 2 * 3 * 5) });
  t.deepEqual(r.matmulCost([513, 257], [129, 257], { transposeB: true }), { flops: 2 * 513 * 129 * 257, bytes: 4 * (513 * 257 + 257 * 129 + 513 * 129) });
  t.is(r.matmulCost([2, 1, 3, 4], [5, 4, 6], { dtype: 'float64' }).bytes, 8 * (2 * 12 + 5 * 24 + 10 * 18));
});

test('Tensor.matmul is the op', async (t) => {
  const a = r.tensor([[1, 2], [3, 4]], undefined, { device: cpu }) as Tensor;
  t.deepEqual(await values(a.matmul(a, { transposeA: true })), [10, 14, 14, 20]);
});

test.after.always(async () => {
  await r.shutdown();
});

// The warp-shaped thread layout (Vec4TileConfig.lanesX) is screened by bench/matmul-sweep.ts but is
// no rung: its results must still be right, whatever the subgroup size (only speed depends on it).
test('webgpu: a vec4 tile config with a warp-shaped thread layout (lanesX) matches the cpu reference in every transpose combination', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const { dispatchMatmulKernel } = await import('../../src/kernels/matmul/webgpu.js');
  const { matmulLayout } = await import('../../src/kernels/matmul/contract.js');
  const base = { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, doubleBuffer: false, splitK: { targetWorkgroups: 384, minK: 128 } };
  for (const lanesX of [4, 8]) {
    const kernel = { version: 100, name: `lanesX ${lanesX}`, vec4: { ...base, lanesX } };
    for (const [M, K, N] of [[130, 260, 132], [37, 300, 19]]) {
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const ha = f32Values(M * K, M + K), hb = f32Values(K * N, K + N);
        const aShape = tA ? [K, M] : [M, K], bShape = tB ? [N, K] : [K, N];
        const at = (x: number[], rows: number, cols: number, tr: boolean) => (i: number, j: number) => (tr ? x[j * rows + i] : x[i * cols + j]);
        const opA = at(ha, M, K, tA), opB = at(hb, K, N, tB);
        const want: number[] = [];
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += opA(i, k) * opB(k, j);
          want.push(s);
        }
        const a = { storage: gpu.upload('float32', Float32Array.from(ha)), shape: aShape, dtype: 'float32' as const };
        const b = { storage: gpu.upload('float32', Float32Array.from(hb)), shape: bShape, dtype: 'float32' as const };
        const out = { storage: gpu.alloc('float32', M * N), shape: [M, N], dtype: 'float32' as const };
        dispatchMatmulKernel(gpu, a, b, out, matmulLayout(aShape, bShape, tA, tB), kernel, tA, tB);
        const got = Array.from(await gpu.read(out.storage));
        for (const x of [a, b, out]) gpu.release(x.storage);
        assertMaxRel(t, got, want, 1e-5, `lanesX ${lanesX} ${M}×${K}×${N} tA ${tA} tB ${tB}`);
      }
    }
  }
});
