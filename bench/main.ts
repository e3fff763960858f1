// `npm run bench`: kernel timings on the WebGPU device, each against TensorFlow.js's WebGPU backend
// on the same adapter in the same run. Prints a table; writes JSON and markdown under
// bench/results/ named by adapter. On a software adapter (lavapipe) the shapes shrink and the
// numbers are CPU numbers; the output says so. See bench/README.md for the method.
import { mkdirSync, writeFileSync } from 'node:fs';
import type * as TF from '@tensorflow/tfjs-core';
import * as r from '../src/index.js';
import { DAWN_OPTIONS } from '../src/device/webgpu/create.js';
import { type BenchCase, benchCases } from './cases.js';
import { adapterSlug, maxRelErr, randnHost, timeBatches, type Timing, type TimeOptions } from './harness.js';
import { installNavigatorGpu, loadPeer, type Peer } from './peer.js';
import { contrastScopeRows } from './contrast-scope.js';

interface Row {
  group: string;
  kernel: string;
  variant: string;
  shape: string;
  medianMs: number;
  minMs: number;
  /** JavaScript time per launch (queueing, before the sync): what the host pays. */
  hostMs?: number;
  peerHostMs?: number;
  gflops?: number;
  gbps?: number;
  /** TF.js median ms for the same case (one timing per case, repeated on each variant's row). */
  peerMs?: number;
  /** Median GPU time of one launch: the sum of its kernels' timestamped passes (device.profile). */
  gpuMs?: number;
  /** The kernels of the median profiled launch and their GPU times (JSON only). */
  gpuKernels?: { name: string; ms: number }[];
  /** TF.js's GPU time for the case (tf.time's kernelMs, also from timestamp queries). */
  peerGpuMs?: number;
  /** The most memory relpo's live tensors held while the variant was timed (after its prepare()). */
  peakMiB?: number;
  /** peerMs / medianMs: above 1, relpo is faster. */
  peerRatio?: number;
  /** max |relpo − TF.js| / max |TF.js| over the output. */
  maxRelErr?: number;
  agrees?: boolean;
  /** Time of the case's baseline variant over this one's (fused vs unfused): above 1, this one is faster. */
  vsBaseline?: number;
  error?: string;
}

const argv = process.argv.slice(2);
const args = new Set(argv);
const optValue = (name: string): string | null => (argv.includes(name) ? (argv[argv.indexOf(name) + 1] ?? null) : null);
if (args.has('--help')) {
  process.stdout.write(
    [
      'usage: npm run bench [-- --full] [-- --only GROUP[,GROUP]] [-- --no-peer] [-- --reps N] [-- --tag NAME]',
      '',
      'Times each kernel on the WebGPU device (median of batches after warm-up), and the same math in',
      'TensorFlow.js (@tensorflow/tfjs-backend-webgpu) on the same adapter; checks that both agree.',
      'Writes bench/results/<adapter>.{json,md}. See bench/README.md.',
      '  --full      real-GPU shapes even on a software adapter (slow on lavapipe)',
      '  --only      groups to run, comma-separated (matmul, softmax, logsigmoid, ...)',
      '  --no-peer   relpo only: do not load TF.js',
      '  --reps N    timed batches per measurement (default 7; 3 on a software adapter)',
      '  --tag NAME  appended to the result files\' name (e.g. the Dawn options of the run)',
      'Environment: RELPO_DAWN_OPTIONS adds Dawn instance options (both libraries share the instance).',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const only = optValue('--only')?.split(',').map((s) => s.trim().toLowerCase()) ?? null;
const noPeer = args.has('--no-peer');
const tag = optValue('--tag')?.replace(/[^a-z0-9-]+/gi, '') ?? '';

// One Dawn instance for the whole run, on navigator.gpu where TF.js looks for it; relpo's device
// takes the same one. Held here too: a collected instance crashes the process.
const gpuInstance = await installNavigatorGpu();
const gpu = await r.webgpuDevice();
if (!gpu || !gpuInstance) {
  process.stderr.write('bench: no WebGPU adapter (see README: scripts/setup.sh installs lavapipe)\n');
  process.exit(1);
}
const software = gpu.softwareAdapter;
const small = software && !args.has('--full');
const reps = Number(optValue('--reps') ?? (small ? 3 : 7));
const timeOpts: TimeOptions = { reps };

let peer: Peer | null = null;
let peerNote = noPeer ? 'not run (--no-peer)' : '';
if (!noPeer) {
  const p = await loadPeer();
  if (typeof p === 'string') peerNote = p;
  else peer = p;
}

process.stdout.write(`relpo: ${gpu.description}\n`);
process.stdout.write(peer ? `peer:  ${peer.name} on ${peer.adapter} (same process, same Dawn instance, its own GPUDevice)\n` : `peer:  ${peerNote}\n`);
process.stdout.write(small ? 'software adapter: CPU numbers, small shapes (--full for the real ones)\n' : '');
process.stdout.write(`peer ratio = TF.js ms / relpo ms (above 1: relpo faster); err = max|relpo − TF.js| / max|TF.js|\n\n`);

const cases = benchCases({ small, limits: gpu.limits, software }).filter((c) => !only || only.includes(c.group.toLowerCase()));
if (only && cases.length === 0) {
  const groups = [...new Set(benchCases({ small, limits: gpu.limits, software }).map((c) => c.group))];
  process.stderr.write(`bench: no case in --only ${only.join(',')} (groups: ${groups.join(', ')})\n`);
  process.exit(1);
}

const rows: Row[] = [];
const fmtMs = (ms: number | undefined) => (ms === undefined ? '' : ms.toFixed(3));
const fmtRate = (row: Row) => (row.gflops !== undefined ? `${row.gflops.toFixed(1)} GFLOP/s` : row.gbps !== undefined ? `${row.gbps.toFixed(1)} GB/s` : '');
const fmtRatio = (x: number | undefined) => (x === undefined ? '' : `${x.toFixed(2)}×`);
const fmtErr = (row: Row) => (row.maxRelErr === undefined ? '' : `${row.maxRelErr === 0 ? '0' : row.maxRelErr.toExponential(1)}${row.agrees ? '' : ' !'}`);

process.stdout.write(`${'kernel'.padEnd(11)} ${'variant'.padEnd(45)} ${'shape'.padEnd(30)} ${'ms'.padStart(10)}  ${'rate'.padStart(16)}  ${'TF.js ms'.padStart(10)}  ${'ratio'.padStart(8)}  ${'err'.padStart(9)}  ${'GPU ms'.padStart(9)}  ${'TF.js GPU'.padStart(9)}\n`);
function report(row: Row): void {
  rows.push(row);
  const extra = row.error ? `  ${row.error}` : row.vsBaseline !== undefined ? `  ${fmtRatio(row.vsBaseline)} vs baseline` : '';
  process.stdout.write(
    `${row.kernel.padEnd(11)} ${row.variant.padEnd(45)} ${row.shape.padEnd(30)} ${fmtMs(row.medianMs).padStart(10)}  ${fmtRate(row).padStart(16)}  ${fmtMs(row.peerMs).padStart(10)}  ${fmtRatio(row.peerRatio).padStart(8)}  ${fmtErr(row).padStart(9)}  ${fmtMs(row.gpuMs).padStart(9)}  ${fmtMs(row.peerGpuMs).padStart(9)}${extra}\n`,
  );
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 160);

/** Flattened output values of one launch, for the agreement check. */
async function relpoValues(c: BenchCase, v: BenchCase['variants'][number], x: r.Tensor[]): Promise<ArrayLike<number>[]> {
  const outs = r.tidy(() => {
    const o = v.run(x);
    return Array.isArray(o) ? o : [o];
  });
  try {
    return await Promise.all(outs.map((t) => t.data()));
  } finally {
    for (const t of outs) t.dispose();
  }
}

async function peerValues(p: Peer, c: BenchCase, x: TF.Tensor[]): Promise<ArrayLike<number>[]> {
  const outs = p.tf.tidy(() => {
    const o = c.peer!(p.tf, x);
    return Array.isArray(o) ? o : [o];
  });
  try {
    return await Promise.all(outs.map((t) => t.data() as Promise<Float32Array | Int32Array>));
  } finally {
    for (const t of outs) t.dispose();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median GPU time of one launch, from timestamp queries; undefined where the adapter has none. */
async function gpuTime(v: BenchCase['variants'][number], x: r.Tensor[]): Promise<{ ms: number; kernels: { name: string; ms: number }[] } | undefined> {
  if (!gpu!.canProfile) return undefined;
  const runs: { ms: number; kernels: { name: string; ms: number }[] }[] = [];
  for (let i = 0; i < reps; i++) {
    const { kernels } = await gpu!.profile(() => r.tidy(() => void v.run(x)));
    runs.push({ ms: kernels.reduce((s, k) => s + k.ms, 0), kernels });
  }
  // The median run, with its kernels (for the JSON's per-kernel breakdown).
  return [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)];
}

/** TF.js's GPU time for the case (tf.time's kernelMs), or undefined when it cannot measure one. */
async function peerGpuTime(p: Peer, c: BenchCase, x: TF.Tensor[]): Promise<number | undefined> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const info = await p.tf.time(() => p.tf.tidy(() => void c.peer!(p.tf, x)));
    if (typeof info.kernelMs !== 'number') return undefined;
    times.push(info.kernelMs);
  }
  return median(times);
}

/** Host inputs of the previous case, reused when the next has the same default-filled ones (softmax then logSoftmax at 4096×32000). */
let lastHost = new Map<string, Float32Array | Int32Array>();

async function runCase(c: BenchCase, seed: number): Promise<void> {
  const made = new Map<string, Float32Array | Int32Array>();
  const host = c.inputs.map((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.fill) return s.fill(n, seed + i);
    const key = `${i} ${s.dtype ?? 'float32'} [${s.shape}]`;
    const h = lastHost.get(key) ?? randnHost(n, seed + i);
    made.set(key, h);
    return h;
  });
  lastHost = made;
  const x = host.map((h, i) => r.tensor(h, c.inputs[i].shape, { device: gpu!, dtype: c.inputs[i].dtype ?? 'float32' }));
  const rate = (ms: number) => (c.rate === 'flops' ? { gflops: c.cost.flops / ms / 1e6 } : { gbps: c.cost.bytes / ms / 1e6 });

  // The peer first: its output is the reference the variants are checked against.
  let want: ArrayLike<number>[] | null = null;
  let peerT: Timing | null = null;
  let peerError: string | undefined;
  let peerGpu: number | undefined;
  if (peer && c.peer) {
    const p = peer;
    const tx = host.map((h, i) => p.tf.tensor(h, c.inputs[i].shape, c.inputs[i].dtype ?? 'float32'));
    try {
      want = await peerValues(p, c, tx);
      peerT = await timeBatches(() => p.tf.tidy(() => void c.peer!(p.tf, tx)), () => p.sync(), timeOpts);
      peerGpu = await peerGpuTime(p, c, tx);
    } catch (e) {
      peerError = `TF.js failed: ${message(e)}`;
    } finally {
      for (const t of tx) t.dispose();
      await p.sync().catch(() => undefined);
    }
  }

  const results: Row[] = [];
  for (const v of c.variants) {
    const row: Row = { group: c.group, kernel: c.kernel, variant: v.name, shape: c.shape, medianMs: NaN, minMs: NaN };
    try {
      if (want) {
        const got = await relpoValues(c, v, x);
        row.maxRelErr = got.length === want.length ? Math.max(...got.map((g, i) => maxRelErr(g, want![i]))) : NaN;
        row.agrees = row.maxRelErr <= (c.tol ?? 1e-4);
      }
      v.prepare?.(x);
      gpu!.resetPeakMemory();
      const t = await timeBatches(() => r.tidy(() => void v.run(x)), () => gpu!.sync(), timeOpts);
      row.peakMiB = Math.round((gpu!.memory().peakLiveBytes ?? 0) / 2 ** 20);
      Object.assign(row, { medianMs: t.medianMs, minMs: t.minMs, hostMs: t.hostMs }, rate(t.medianMs));
      if (peerT) Object.assign(row, { peerMs: peerT.medianMs, peerHostMs: peerT.hostMs, peerRatio: peerT.medianMs / t.medianMs });
      const g = await gpuTime(v, x);
      row.gpuMs = g?.ms;
      row.gpuKernels = g?.kernels.map((k) => ({ name: k.name, ms: Number(k.ms.toFixed(4)) }));
      row.peerGpuMs = peerGpu;
    } catch (e) {
      row.error = `relpo failed: ${message(e)}`;
    }
    if (peerError) row.error = row.error ? `${row.error}; ${peerError}` : peerError;
    results.push(row);
  }
  const base = c.baseline ? results.find((row) => row.variant === c.baseline) : undefined;
  for (const row of results) {
    if (base && row !== base && Number.isFinite(base.medianMs)) row.vsBaseline = base.medianMs / row.medianMs;
    report(row);
  }
  for (const t of x) t.dispose();
}

let seed = 1;
for (const c of cases) {
  await runCase(c, seed);
  seed += 16;
}
// The step group's scope rows: DPO, RPO per micro-batch and RPO over the step, timed in turn.
if (!only || only.includes('step')) {
  for (const s of await contrastScopeRows(gpu, { small, reps: Math.max(reps, 9), log: (line) => process.stdout.write(`  ${line}\n`) })) {
    report({ group: 'step', kernel: 'train step', variant: `${s.setup}: ${s.variant}`, shape: s.shape, medianMs: s.medianMs, minMs: s.minMs, peakMiB: s.peakMiB, vsBaseline: 1 / s.timeVsDpo });
  }
}

// A partial run (--only) gets its own file, so that it does not overwrite the full run's.
const slug = adapterSlug(gpu.description) + (small ? '-small' : '') + (only ? `-only-${only.join('-').replace(/[^a-z0-9-]+/g, '')}` : '') + (tag ? `-${tag}` : '');
const dir = new URL('../../bench/results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const when = new Date().toISOString();
const peerInfo = peer ? { name: peer.name, adapter: peer.adapter, flags: peer.flags } : null;
writeFileSync(new URL(`${slug}.json`, dir), JSON.stringify({ adapter: gpu.description, software, small, when, reps, dawnOptions: DAWN_OPTIONS, peer: peerInfo, peerNote: peer ? undefined : peerNote, rows }, null, 2) + '\n');
const disagree = rows.filter((x) => x.agrees === false);
const anyBaseline = rows.some((x) => x.vsBaseline !== undefined);
const md = [
  `# Kernel timings: ${gpu.description}`,
  '',
  `${when}. Median ms per launch over ${reps} batches after warm-up (bench/README.md). Dawn options: ${DAWN_OPTIONS.join(' ')}.${software ? ' **Software adapter: these are CPU numbers**, not GPU numbers.' : ''}`,
  '',
  peer
    ? `Peer: ${peer.name} on the same adapter in the same run (${Object.entries(peer.flags).map(([k, v]) => `${k}=${v}`).join(', ')}). ` +
      '"TF.js / relpo" is TF.js time over relpo time: above 1, relpo is faster. "err" is max |relpo − TF.js| / max |TF.js| over the output. ' +
      '"GPU ms" is the median GPU time of one launch from timestamp queries (relpo: device.profile, each kernel in its own pass; TF.js: tf.time\'s kernelMs), without the JS and submission costs that the wall-clock "ms" includes. "JS ms" is the JavaScript time per launch spent queueing (before the sync), relpo / TF.js. "peak MiB": the most memory relpo\'s live tensors held during the timed launches (inputs and a step\'s model included; the buffer pool\'s spare buffers not).'
    : `Peer: ${peerNote}.`,
  ...(disagree.length ? ['', `**${disagree.length} row(s) disagree with TF.js beyond tolerance** (marked !).`] : []),
  '',
  `| kernel | variant | shape | ms | rate | TF.js ms | TF.js / relpo | err | GPU ms | TF.js GPU ms | JS ms | peak MiB |${anyBaseline ? ' vs baseline |' : ''}`,
  `| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${anyBaseline ? ' ---: |' : ''}`,
  ...rows.map(
    (x) =>
      `| ${x.kernel} | ${x.variant} | ${x.shape} | ${fmtMs(x.medianMs)} | ${fmtRate(x)} | ${fmtMs(x.peerMs)} | ${fmtRatio(x.peerRatio)} | ${fmtErr(x)}${x.error ? ` ${x.error}` : ''} | ${fmtMs(x.gpuMs)} | ${fmtMs(x.peerGpuMs)} | ${fmtMs(x.hostMs)}${x.peerHostMs !== undefined ? ` / ${fmtMs(x.peerHostMs)}` : ''} | ${x.peakMiB ?? ''} |${anyBaseline ? ` ${fmtRatio(x.vsBaseline)} |` : ''}`,
  ),
  '',
].join('\n');
writeFileSync(new URL(`${slug}.md`, dir), md);
process.stdout.write(`\nwrote bench/results/${slug}.json and .md\n`);
if (disagree.length) process.stdout.write(`${disagree.length} row(s) disagree with TF.js beyond tolerance (marked !)\n`);
peer?.destroy();
await r.shutdown();
// The Dawn instance stays referenced until here.
void gpuInstance;
