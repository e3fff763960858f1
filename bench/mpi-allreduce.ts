// The MPI collectives' cost and the bit-identity question, under mpirun (docs/distributed.md):
//   mpirun --oversubscribe -np 2 node dist/bench/mpi-allreduce.js [--sizes 1e6,1e7] [--reps 9]
// Times allReduceSum and allReduceSumIdentical of float32 buffers (a barrier before each timed
// call, the median over reps; bus GB/s as nccl-tests counts it: 2(n−1)/n · bytes / time), then
// checks whether a plain all-reduce of random values gave every rank the same bits. Rank 0 prints.
// A copy of the buffer within one process (TypedArray.set, every rank at once) is the yardstick:
// what this machine's memory gives.
import { loadMpi, type Communicator, type FloatArray } from '../src/distributed/index.js';
import { mulberry32 } from '../src/autograd/random.js';
import { flagReader, median, slowestRank } from './rank-bench.js';

const flag = flagReader();
const sizes = flag('sizes', '1e6,1e7').split(',').map(Number);
const identitySizes = flag('identity-sizes', '1e3,1e5,1e7').split(',').map(Number);
const reps = Number(flag('reps', '9'));

const comm = loadMpi();
const say = (line: string) => comm.rank === 0 && process.stdout.write(`${line}\n`);

function randomFill<T extends FloatArray>(buf: T, seed: number): T {
  const next = mulberry32(seed);
  for (let i = 0; i < buf.length; i++) buf[i] = 2 * next() - 1;
  return buf;
}

function medianMs(comm: Communicator, run: () => void): number {
  run(); // warm-up: connections, first-touch pages
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    comm.barrier();
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  // Every rank's median; the slowest is the collective's cost.
  return slowestRank(comm, Float64Array.of(median(times)))[0];
}

say(`${comm.library.split(',')[0]}, ${comm.size} ranks, median of ${reps}`);
say('| float32 values | MB | allReduceSum ms | bus GB/s | allReduceSumIdentical ms | bus GB/s | copy ms |');
say('|---:|---:|---:|---:|---:|---:|---:|');
for (const n of sizes) {
  const buf = randomFill(new Float32Array(n), 1 + comm.rank);
  const bytes = n * 4;
  const bus = (ms: number) => ((2 * (comm.size - 1)) / comm.size) * bytes / (ms * 1e6);
  const plain = medianMs(comm, () => comm.allReduceSum(buf));
  const identical = medianMs(comm, () => comm.allReduceSumIdentical(buf));
  const copy = new Float32Array(n);
  const copyMs = medianMs(comm, () => copy.set(buf));
  say(`| ${n.toExponential(0)} | ${(bytes / 1e6).toFixed(0)} | ${plain.toFixed(2)} | ${bus(plain).toFixed(2)} | ${identical.toFixed(2)} | ${bus(identical).toFixed(2)} | ${copyMs.toFixed(2)} |`);
}

// Bit identity of a plain all-reduce: each rank compares its result with rank 0's, bit for bit.
for (const n of identitySizes) {
  const verdicts: string[] = [];
  for (const make of [(k: number) => new Float32Array(k), (k: number) => new Float64Array(k)]) {
    const buf = randomFill(make(n), 100 + comm.rank);
    comm.allReduceSum(buf);
    const mine = new Uint8Array(buf.buffer).slice();
    const root = mine.slice();
    comm.broadcast(root, 0);
    const same = comm.allTrue(mine.every((b, i) => b === root[i]));
    verdicts.push(`${buf instanceof Float32Array ? 'float32' : 'float64'} ${same ? 'identical' : 'DIFFERENT'}`);
  }
  say(`allReduceSum of ${n.toExponential(0)} random values on every rank: ${verdicts.join(', ')}`);
}
