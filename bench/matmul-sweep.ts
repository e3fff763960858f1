// `node dist/bench/matmul-sweep.js`: the matmul tuning sweep. Times tile configurations (the
// ladder's rungs and candidates that are not rungs) on the GPU itself (timestamp queries, so no
// JavaScript or submission cost), at the bench's matmul shapes, beside TF.js's kernel time for the
// same product (tf.time's kernelMs) in the same run. Each configuration's output is checked
// against TF.js's. The rungs and the default chooser (chooseMatmulVersion) are picked from this.
// Writes bench/results/<adapter>-matmul-sweep.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import type * as TF from '@tensorflow/tfjs-core';
import * as r from '../src/index.js';
import type { TensorInfo } from '../src/autograd/kernel.js';
import { matmulLayout } from '../src/kernels/matmul/contract.js';
import type { Vec4TileConfig } from '../src/kernels/matmul/vec4.js';
import { type MatmulVersion, MATMUL_VERSIONS, chooseMatmulVersion, dispatchMatmulKernel, matmulKernelFits } from '../src/kernels/matmul/webgpu.js';
import { DAWN_OPTIONS } from '../src/device/webgpu/create.js';
import { adapterSlug, maxRelErr, randnHost } from './harness.js';
import { installNavigatorGpu, loadPeer } from './peer.js';

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  process.stdout.write('usage: node dist/bench/matmul-sweep.js [--reps N] [--small] [--versions 8,11] [--no-candidates] [--step-shapes] [--transpose a|b|ab] [--tag NAME]\n\nGPU time of matmul tile configurations at the bench shapes, beside TF.js. See bench/README.md.\n');
  process.exit(0);
}
const reps = Number(argv.includes('--reps') ? argv[argv.indexOf('--reps') + 1] : 20);

/** Candidates that are not ladder rungs: block sizes, threads per block, K depth, staging. */
const one = { doubleBuffer: false } as const;
// The candidates of the earlier sweeps that became rungs (v8-v11) are timed as rungs; these are the
// next ones to screen: warp-shaped thread layouts (lanesX) on the other blocks, 32 KiB double
// buffering, and a 16×8 thread tile (fewer shared-memory reads per multiply-add).
const candidates: [string, Vec4TileConfig][] = [
  ['128×128×16, 8×8, one buffer, split-K 256, 4×8 warps (v8 warp-tiled)', { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, ...one, splitK: { targetWorkgroups: 256, minK: 128 }, lanesX: 8 }],
  ['128×128×16, 8×8, one buffer, split-K 384, 4×8 warps (v11 warp-tiled)', { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, ...one, splitK: { targetWorkgroups: 384, minK: 128 }, lanesX: 8 }],
  ['128×128×16, 8×8, one buffer, split-K 384, 8×4 warps', { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, ...one, splitK: { targetWorkgroups: 384, minK: 128 }, lanesX: 4 }],
  ['128×128×16, 8×8, two buffers (32 KiB), split-K 384, 4×8 warps', { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, doubleBuffer: true, splitK: { targetWorkgroups: 384, minK: 128 }, lanesX: 8 }],
  ['128×128×16, 8×8, two buffers (32 KiB), split-K 256, 4×8 warps', { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, doubleBuffer: true, splitK: { targetWorkgroups: 256, minK: 128 }, lanesX: 8 }],
  ['128×128×8, 8×8, two buffers, split-K 384, 4×8 warps', { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, doubleBuffer: true, splitK: { targetWorkgroups: 384, minK: 128 }, lanesX: 8 }],
  ['64×256×16, 8×8 (256 thr), one buffer, 4×8 warps', { BM: 64, BN: 256, BK: 16, TM: 8, TN: 8, ...one, lanesX: 8 }],
  ['128×64×16, 8×4, one buffer, 4×8 warps', { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4, ...one, lanesX: 8 }],
  ['256×128×16, 16×8 (256 thr), one buffer, split-K 384, 4×8 warps', { BM: 256, BN: 128, BK: 16, TM: 16, TN: 8, ...one, splitK: { targetWorkgroups: 384, minK: 128 }, lanesX: 8 }],
  ['128×256×16, 8×16 (256 thr), one buffer, split-K 384, 4×8 warps', { BM: 128, BN: 256, BK: 16, TM: 8, TN: 16, ...one, splitK: { targetWorkgroups: 384, minK: 128 }, lanesX: 8 }],
];
// --versions 8,11: only these rungs (default: every rung but v0).
const versionsArg = argv.includes('--versions') ? argv[argv.indexOf('--versions') + 1].split(',').map(Number) : null;
// --transpose a|b|ab: time op(A)·op(B) with A stored [K, M] and/or B stored [N, K] (a linear layer's
// forward is X·Wᵀ, its weight gradient dYᵀ·X); TF.js gets the same flags.
const transpose = argv.includes('--transpose') ? argv[argv.indexOf('--transpose') + 1] : '';
const tA = transpose.includes('a'), tB = transpose.includes('b');
// --tag NAME: appended to the result files' name (e.g. the Dawn options the run used).
const tag = argv.includes('--tag') ? `-${argv[argv.indexOf('--tag') + 1].replace(/[^a-z0-9-]+/gi, '')}` : '';
const kernels: MatmulVersion[] = [
  ...MATMUL_VERSIONS.filter((v) => v.version > 0 && (!versionsArg || versionsArg.includes(v.version))),
  // --no-candidates: the rungs only.
  ...(argv.includes('--no-candidates') ? [] : candidates.map(([name, vec4], i) => ({ version: 100 + i, name, vec4 }))),
];

const gpuInstance = await installNavigatorGpu();
const gpu = await r.webgpuDevice();
if (!gpu || !gpuInstance) {
  process.stderr.write('matmul-sweep: no WebGPU adapter\n');
  process.exit(1);
}
if (!gpu.canProfile) {
  process.stderr.write(`matmul-sweep: ${gpu.description} has no timestamp queries\n`);
  process.exit(1);
}
const peer = await loadPeer();
if (typeof peer === 'string') process.stdout.write(`peer: ${peer}\n`);
const small = argv.includes('--small');
const shapes: [string, number, number, number][] = small
  ? [['256³', 256, 256, 256], ['SmolLM 128 tok', 128, 576, 1536]]
  : [['1024³', 1024, 1024, 1024], ['4096³', 4096, 4096, 4096], ['SmolLM-135M up', 512, 576, 1536], ['TinyLlama up', 512, 2048, 5632], ['TinyLlama down', 512, 5632, 2048], ['2048³', 2048, 2048, 2048]];
// --step-shapes: also the projections of the bench's train step (SmolLM-135M, 8192 tokens): with
// --transpose a their weight gradients (out × tokens × in), otherwise tokens × in × out.
if (!small && argv.includes('--step-shapes')) {
  const proj: [string, number, number][] = [['q/o', 576, 576], ['k/v', 576, 192], ['up', 576, 1536], ['down', 1536, 576]];
  for (const [name, fanIn, fanOut] of proj) shapes.push(tA ? [`SmolLM ${name} dW, 8192 tok`, fanOut, 8192, fanIn] : [`SmolLM ${name}, 8192 tok`, 8192, fanIn, fanOut]);
}

interface Row { shape: string; kernel: string; version: number; gpuMs: number; tflops: number; peerGpuMs?: number; peerRatio?: number; maxRelErr?: number; isDefault: boolean; error?: string }
const rows: Row[] = [];
process.stdout.write(`relpo: ${gpu.description}\n${'shape'.padEnd(34)} ${'kernel'.padEnd(48)} ${'GPU ms'.padStart(9)} ${'TFLOP/s'.padStart(8)} ${'TF.js GPU'.padStart(9)} ${'ratio'.padStart(7)} ${'err'.padStart(8)}\n`);

let seed = 1;
for (const [label, M, K, N] of shapes) {
  const ha = randnHost(M * K, seed++), hb = randnHost(K * N, seed++);
  const l = matmulLayout(tA ? [K, M] : [M, K], tB ? [N, K] : [K, N], tA, tB);
  const flops = 2 * M * N * K;
  let want: Float32Array | null = null;
  let peerGpuMs: number | undefined;
  if (typeof peer !== 'string') {
    const ta = peer.tf.tensor2d(ha, tA ? [K, M] : [M, K]), tb = peer.tf.tensor2d(hb, tB ? [N, K] : [K, N]);
    const c = peer.tf.matMul(ta, tb, tA, tB);
    want = (await c.data()) as Float32Array;
    c.dispose();
    // Warm (clocks up, buffers pooled), then `reps` products back to back in one timed run.
    await peer.tf.time(() => peer.tf.tidy(() => { for (let i = 0; i < reps; i++) peer.tf.matMul(ta as TF.Tensor2D, tb as TF.Tensor2D, tA, tB); }));
    const info = await peer.tf.time(() => peer.tf.tidy(() => { for (let i = 0; i < reps; i++) peer.tf.matMul(ta as TF.Tensor2D, tb as TF.Tensor2D, tA, tB); }));
    if (typeof info.kernelMs === 'number') peerGpuMs = info.kernelMs / reps;
    ta.dispose();
    tb.dispose();
    await peer.sync();
  }
  const a: TensorInfo = { storage: gpu.upload('float32', ha), shape: tA ? [K, M] : [M, K], dtype: 'float32' };
  const b: TensorInfo = { storage: gpu.upload('float32', hb), shape: tB ? [N, K] : [K, N], dtype: 'float32' };
  const out: TensorInfo = { storage: gpu.alloc('float32', M * N), shape: [M, N], dtype: 'float32' };
  const chosen = chooseMatmulVersion(l);
  for (const k of kernels) {
    const row: Row = { shape: `${label} (${M}×${K}×${N}${transpose ? `, ${[tA ? 'Aᵀ' : '', tB ? 'Bᵀ' : ''].join('')}` : ''})`, kernel: k.version < 100 ? `v${k.version} ${k.name}` : k.name, version: k.version, gpuMs: NaN, tflops: NaN, isDefault: k.version === chosen, peerGpuMs };
    try {
      if (!matmulKernelFits(k, gpu.limits)) throw new Error('does not fit this device');
      dispatchMatmulKernel(gpu, a, b, out, l, k, tA, tB);
      if (want) row.maxRelErr = maxRelErr(await gpu.read(out.storage), want);
      // Warm (clocks up), then `reps` launches back to back, each kernel stamped: the mean per launch.
      for (let i = 0; i < reps; i++) dispatchMatmulKernel(gpu, a, b, out, l, k, tA, tB);
      await gpu.sync();
      const { kernels: ks } = await gpu.profile(() => {
        for (let i = 0; i < reps; i++) dispatchMatmulKernel(gpu, a, b, out, l, k, tA, tB);
      });
      row.gpuMs = ks.reduce((s, x) => s + x.ms, 0) / reps;
      row.tflops = flops / row.gpuMs / 1e9;
      if (peerGpuMs !== undefined) row.peerRatio = peerGpuMs / row.gpuMs;
    } catch (e) {
      row.error = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 120);
    }
    rows.push(row);
    const f = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(d));
    process.stdout.write(`${row.shape.padEnd(34)} ${(row.kernel + (row.isDefault ? ' *' : '')).padEnd(48)} ${f(row.gpuMs).padStart(9)} ${f(row.tflops, 1).padStart(8)} ${f(peerGpuMs).padStart(9)} ${f(row.peerRatio, 2).padStart(7)} ${row.maxRelErr === undefined ? '' : row.maxRelErr.toExponential(1).padStart(8)}${row.error ? `  ${row.error}` : ''}\n`);
  }
  for (const t of [a, b, out]) gpu.release(t.storage);
  await gpu.sync();
}

const slug = `${adapterSlug(gpu.description)}-matmul-sweep${small ? '-small' : ''}${transpose ? `-t${transpose}` : ''}${tag}`;
const dir = new URL('../../bench/results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const when = new Date().toISOString();
writeFileSync(new URL(`${slug}.json`, dir), JSON.stringify({ adapter: gpu.description, when, reps, dawnOptions: DAWN_OPTIONS, peer: typeof peer === 'string' ? peer : peer.name, rows }, null, 2) + '\n');
const md = [
  `# Matmul sweep: ${gpu.description}`,
  '',
  `${when}. Dawn options: ${DAWN_OPTIONS.join(' ')}. GPU time of one product: the mean over ${reps} launches queued back to back after as many untimed ones, each kernel timestamped (split-K: both kernels); TF.js: tf.time's kernelMs over ${reps} products after a warm-up, same run. * marks relpo's default for the shape. err: max |relpo − TF.js| / max |TF.js|.`,
  '',
  '| shape | kernel | GPU ms | TFLOP/s | TF.js GPU ms | TF.js / relpo | err |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((x) => `| ${x.shape} | ${x.kernel}${x.isDefault ? ' *' : ''} | ${Number.isFinite(x.gpuMs) ? x.gpuMs.toFixed(3) : x.error ?? ''} | ${Number.isFinite(x.tflops) ? x.tflops.toFixed(1) : ''} | ${x.peerGpuMs?.toFixed(3) ?? ''} | ${x.peerRatio ? `${x.peerRatio.toFixed(2)}×` : ''} | ${x.maxRelErr?.toExponential(1) ?? ''} |`),
  '',
].join('\n');
writeFileSync(new URL(`${slug}.md`, dir), md);
process.stdout.write(`\nwrote bench/results/${slug}.json and .md\n`);
if (typeof peer !== 'string') peer.destroy();
await r.shutdown();
void gpuInstance;
