// The gradient sum's buckets sequential vs overlapped, side by side (docs/distributed.md):
//   mpirun --oversubscribe -np 2 node dist/bench/grad-sum-overlap.js [--device cpu|webgpu] [--values 16e6] [--params 32] [--bucket 1048576] [--reps 7] [--read-delay-ms 0]
// Each rank holds --params float32 parameters of --values values in all, their gradients random on
// the device; sumGradients runs sequential (read back, all-reduce, write back, bucket after bucket)
// and overlapped (bucket i all-reduced on MPI's worker thread while bucket i+1 is read back and
// bucket i−1 written), alternately, from the same gradients each time (uploaded and synced before
// the clock starts, a barrier first). Rank 0 prints the medians of the slowest rank's times: the
// whole sum (wall) and its parts, and how much of the sequential all-reduce the overlap hid,
// (sequential wall − overlapped wall) / sequential all-reduce. It checks both give the same bits.
// --read-delay-ms L makes every device read wait L ms first without using the CPU, as a GPU's copy
// over PCIe does (the CPU device's reads are memory copies on the main thread): a simulated
// device, to see the schedule hide the all-reduce where the CPU is not the bottleneck.
import * as r from '../src/index.js';
import { communicatorFromEnv } from '../src/distributed/index.js';
import { mulberry32 } from '../src/autograd/random.js';
import { sumGradients, type GradSyncTimes } from '../src/train/data-parallel.js';
import { flagReader, gradientBitsHash, median, slowestRank } from './rank-bench.js';

const flag = flagReader();
const deviceChoice = flag('device', 'cpu') as 'cpu' | 'webgpu';
const values = Number(flag('values', '16e6'));
const paramCount = Number(flag('params', '32'));
const bucket = Number(flag('bucket', String(1 << 20)));
const reps = Number(flag('reps', '7'));
const readDelayMs = Number(flag('read-delay-ms', '0'));

const comm = communicatorFromEnv();
const device = await r.init({ device: deviceChoice, quiet: true });
if (readDelayMs > 0) {
  const read = device.read.bind(device);
  device.read = async (storage) => {
    await new Promise((resolve) => setTimeout(resolve, readDelayMs));
    return read(storage);
  };
}
const say = (line: string) => comm.rank === 0 && process.stdout.write(`${line}\n`);
const per = Math.floor(values / paramCount);
const params = Array.from({ length: paramCount }, () => r.zeros([per], { device, requiresGrad: true }));
const next = mulberry32(7 + comm.rank);
const grads = params.map(() => Float32Array.from({ length: per }, () => 2 * next() - 1));

async function timed(overlap: boolean): Promise<GradSyncTimes> {
  params.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = r.tensor(grads[i], [per], { device });
  });
  await device.sync();
  comm.barrier();
  return sumGradients(comm, params, bucket, overlap);
}

const hash = () => gradientBitsHash(params);
// Warm-up (pools, MPI's connections), and the bit check: both ways give the same sums.
await timed(false);
const sequentialHash = await hash();
await timed(true);
const overlappedHash = await hash();

const runs: Record<'sequential' | 'overlapped', GradSyncTimes[]> = { sequential: [], overlapped: [] };
for (let i = 0; i < reps; i++) {
  runs.sequential.push(await timed(false));
  runs.overlapped.push(await timed(true));
}
// Every rank's median of each part; the slowest rank's is reported.
const parts = ['wall', 'read', 'reduce', 'write'] as const;
const slowest = slowestRank(comm, Float64Array.from((['sequential', 'overlapped'] as const).flatMap((way) => parts.map((k) => median(runs[way].map((t) => t[k]))))));
const [seq, ovl] = [slowest.slice(0, 4), slowest.slice(4)];
const ms = (s: number) => (s * 1000).toFixed(1);
const buckets = Math.ceil(paramCount / Math.max(1, Math.floor(bucket / per)));
say(`${device.description}${readDelayMs > 0 ? ` (reads delayed ${readDelayMs} ms)` : ''}, ${comm.size} ranks, ${paramCount} × ${per} float32 (${((per * paramCount * 4) / 1e6).toFixed(0)} MB) in ${buckets} buckets of ≤ ${bucket} values, median of ${reps}`);
say('| | wall ms | read ms | all-reduce ms | write ms |');
say('|---|---:|---:|---:|---:|');
say(`| sequential | ${seq.map(ms).join(' | ')} |`);
say(`| overlapped | ${ovl.map(ms).join(' | ')} |`);
say(`overlapped / sequential wall ${(ovl[0] / seq[0]).toFixed(2)}; hidden: ${(((seq[0] - ovl[0]) / seq[2]) * 100).toFixed(0)}% of the sequential all-reduce; same bits: ${sequentialHash === overlappedHash}`);
await r.shutdown();
