// Backward plus the gradient sum, the sum started after backward vs from backward's hook, side by
// side (docs/distributed.md):
//   mpirun --oversubscribe -np 2 node dist/bench/grad-sum-in-backward.js [--device cpu|webgpu] [--layers 8] [--width 1024] [--rows 64] [--bucket 1048576] [--reps 5]
// Each rank holds a stack of --layers float32 tanh layers of --width × --width and runs one
// forward on --rows random rows of its own, then: 'after', backward and then sumGradients (its
// buckets overlapping one another); 'hook', backward with GradientSumInBackward's hook (each
// bucket read back and its all-reduce called once its gradients are final, the last layers'
// first), then its finish. Alternately, from the same forward each time (a barrier and a device
// sync before the clock starts, a device sync after the write-back). Rank 0 prints the medians of
// the slowest rank's wall time, backward included, and checks both give the same bits.
import * as r from '../src/index.js';
import { communicatorFromEnv } from '../src/distributed/index.js';
import { mulberry32 } from '../src/autograd/random.js';
import { sumGradients } from '../src/train/data-parallel.js';
import { GradientSumInBackward } from '../src/train/grad-sum-in-backward.js';
import { flagReader, gradientBitsHash, median, slowestRank } from './rank-bench.js';

const flag = flagReader();
const deviceChoice = flag('device', 'cpu') as 'cpu' | 'webgpu';
const layers = Number(flag('layers', '8'));
const width = Number(flag('width', '1024'));
const rows = Number(flag('rows', '64'));
const bucket = Number(flag('bucket', String(1 << 20)));
const reps = Number(flag('reps', '5'));

const comm = communicatorFromEnv();
const device = await r.init({ device: deviceChoice, quiet: true });
const say = (line: string) => comm.rank === 0 && process.stdout.write(`${line}\n`);
const next = mulberry32(3);
const random = (n: number, scale: number) => Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
const weights = Array.from({ length: layers }, () => r.tensor(random(width * width, 1 / Math.sqrt(width)), [width, width], { device, requiresGrad: true }));
const mine = mulberry32(11 + comm.rank);
const x = r.tensor(Float32Array.from({ length: rows * width }, () => 2 * mine() - 1), [rows, width], { device });

async function timed(way: 'after' | 'hook'): Promise<number> {
  for (const w of weights) w.zeroGrad();
  await device.sync();
  comm.barrier();
  const started = performance.now();
  const loss = () => r.tidy(() => r.sum(weights.reduce((h, w) => r.tanh(r.matmul(h, w)), x)));
  if (way === 'after') {
    r.tidy(() => loss().backward());
    await sumGradients(comm, weights, bucket, true);
  } else {
    const sum = new GradientSumInBackward(comm, weights, bucket);
    await sum.around(async () => r.tidy(() => loss().backward(undefined, sum.backwardOptions)));
    await sum.finish();
  }
  await device.sync();
  return (performance.now() - started) / 1000;
}

const hash = () => gradientBitsHash(weights);
// Warm-up (pipelines, pools, MPI's connections), and the bit check.
await timed('after');
const afterHash = await hash();
await timed('hook');
const hookHash = await hash();

const runs: Record<'after' | 'hook', number[]> = { after: [], hook: [] };
for (let i = 0; i < reps; i++) {
  runs.after.push(await timed('after'));
  runs.hook.push(await timed('hook'));
}
const slowest = slowestRank(comm, Float64Array.of(median(runs.after), median(runs.hook)));
const values = layers * width * width;
say(`${device.description}, ${comm.size} ranks, ${layers} layers of ${width} × ${width} float32 (${((values * 4) / 1e6).toFixed(0)} MB of gradients), ${rows} rows, buckets of ≤ ${bucket} values, median of ${reps}`);
say('| sum starts | backward + sum, wall ms |');
say('|---|---:|');
say(`| after backward | ${(slowest[0] * 1000).toFixed(1)} |`);
say(`| from backward's hook | ${(slowest[1] * 1000).toFixed(1)} |`);
say(`hook / after ${(slowest[1] / slowest[0]).toFixed(2)}; same bits: ${afterHash === hookHash}`);
await r.shutdown();
