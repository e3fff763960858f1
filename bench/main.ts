// `npm run bench`: kernel timings on the WebGPU device. Prints a table; writes JSON and markdown
// under bench/results/ named by adapter. On a software adapter (lavapipe) the shapes shrink and the
// numbers are CPU numbers; the output says so.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as r from '../src/index.js';
import { softmaxCost, logSigmoidCost } from '../src/kernels/softmax/contract.js';
import { adapterSlug, timeLaunch, type Timing } from './harness.js';

interface Row {
  kernel: string;
  variant: string;
  shape: string;
  medianMs: number;
  gflops?: number;
  gbps?: number;
}

const args = new Set(process.argv.slice(2));
if (args.has('--help')) {
  process.stdout.write('usage: npm run bench [-- --full] [-- --only matmul|softmax|logsigmoid]\n\nTimes each kernel on the WebGPU device (median of batches after warm-up) and writes bench/results/<adapter>.{json,md}.\n  --full   real-GPU shapes even on a software adapter (slow on lavapipe)\n');
  process.exit(0);
}
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;

const gpu = await r.webgpuDevice();
if (!gpu) {
  process.stderr.write('bench: no WebGPU adapter (see README: scripts/setup.sh installs lavapipe)\n');
  process.exit(1);
}
const software = /software rasterizer/.test(gpu.description);
const small = software && !args.has('--full');
process.stdout.write(`${gpu.description}\n${small ? 'software adapter: CPU numbers, small shapes (--full for the real ones)\n' : ''}\n`);

const rows: Row[] = [];
function report(row: Row): void {
  rows.push(row);
  const rate = row.gflops !== undefined ? `${row.gflops.toFixed(1)} GFLOP/s` : `${row.gbps!.toFixed(1)} GB/s`;
  process.stdout.write(`${row.kernel.padEnd(11)} ${row.variant.padEnd(34)} ${row.shape.padEnd(24)} ${row.medianMs.toFixed(3).padStart(10)} ms  ${rate}\n`);
}

if (!only || only === 'matmul') {
  // Square products, then LLaMA-style projections: tokens×hidden by hidden×intermediate for
  // SmolLM-135M (576 → 1536) and TinyLlama-1.1B (2048 → 5632), 512 tokens.
  const shapes: [string, number, number, number][] = small
    ? [['256³', 256, 256, 256], ['513×257×129', 513, 257, 129], ['SmolLM 128 tok', 128, 576, 1536]]
    : [['1024³', 1024, 1024, 1024], ['4096³', 4096, 4096, 4096], ['SmolLM-135M up', 512, 576, 1536], ['TinyLlama up', 512, 2048, 5632], ['TinyLlama down', 512, 5632, 2048]];
  for (const [label, M, K, N] of shapes) {
    const a = r.randn([M, K], { device: gpu });
    const b = r.randn([K, N], { device: gpu });
    const { flops } = r.matmulCost([M, K], [K, N]);
    for (const v of r.MATMUL_VERSIONS) {
      if (v.version === 0 && M * N * K > 2 ** 31 && !small) continue; // naive at 4096³ takes minutes
      const t: Timing = await timeLaunch(gpu, () => r.matmul(a, b, { version: v.version }), { reps: small ? 3 : 7 });
      report({ kernel: 'matmul', variant: `v${v.version} ${v.name}`, shape: `${label} (${M}×${K}×${N})`, medianMs: t.medianMs, gflops: flops / t.medianMs / 1e6 });
    }
    a.dispose();
    b.dispose();
  }
}

if (!only || only === 'softmax') {
  const shapes = small ? [[512, 4096]] : [[512, 32000], [4096, 32000], [8192, 8192]];
  for (const shape of shapes) {
    const x = r.randn(shape, { device: gpu });
    for (const log of [false, true]) {
      const t = await timeLaunch(gpu, () => (log ? r.logSoftmax(x) : r.softmax(x)), { reps: small ? 3 : 7 });
      report({ kernel: log ? 'logSoftmax' : 'softmax', variant: 'row per workgroup', shape: `[${shape}]`, medianMs: t.medianMs, gbps: softmaxCost(shape, 'float32', -1, log).bytes / t.medianMs / 1e6 });
    }
    x.dispose();
  }
}

if (!only || only === 'logsigmoid') {
  const n = small ? 1 << 20 : 1 << 26;
  const x = r.randn([n], { device: gpu });
  const t = await timeLaunch(gpu, () => r.logSigmoid(x), { reps: small ? 3 : 7 });
  report({ kernel: 'logSigmoid', variant: 'elementwise', shape: `[${n}]`, medianMs: t.medianMs, gbps: logSigmoidCost([n], 'float32').bytes / t.medianMs / 1e6 });
  x.dispose();
}

const slug = adapterSlug(gpu.description) + (small ? '-small' : '');
const dir = new URL('../../bench/results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const when = new Date().toISOString();
writeFileSync(new URL(`${slug}.json`, dir), JSON.stringify({ adapter: gpu.description, software, small, when, rows }, null, 2) + '\n');
const md = [
  `# Kernel timings: ${gpu.description}`,
  '',
  `${when}. Median ms per launch over batches after warm-up (bench/harness.ts).${software ? ' Software adapter: these are CPU numbers.' : ''}`,
  '',
  '| kernel | variant | shape | ms | rate |',
  '| --- | --- | --- | ---: | ---: |',
  ...rows.map((x) => `| ${x.kernel} | ${x.variant} | ${x.shape} | ${x.medianMs.toFixed(3)} | ${x.gflops !== undefined ? `${x.gflops.toFixed(1)} GFLOP/s` : `${x.gbps!.toFixed(1)} GB/s`} |`),
  '',
].join('\n');
writeFileSync(new URL(`${slug}.md`, dir), md);
process.stdout.write(`\nwrote bench/results/${slug}.json and .md\n`);
await r.shutdown();
