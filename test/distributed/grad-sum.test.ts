// sumGradients under `mpirun -np 2/3` (test/distributed/fixtures/grad-sum.ts): the overlapped
// buckets give the sequential ones' bits, equal to the sum over ranks, the same on every rank.
// Skipped without mpirun or the built addon, except under RELPO_REQUIRE_MPI=1 (CI).
import test, { type ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import * as r from '../../src/index.js';
import { singleProcessCommunicator } from '../../src/distributed/index.js';
import { gradientBuckets, sumGradients } from '../../src/train/data-parallel.js';
import { mpiGate, rankResults } from '../helpers/mpi.js';
import { GRAD_BUCKET_VALUES, GRAD_PARAMS, rankGradients } from './fixtures/inputs.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/grad-sum.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();

async function gradSum(t: ExecutionContext, ranks: number): Promise<void> {
  const results = await rankResults<{ rank: number; sequential: number[][]; overlapped: number[][] }>(t, ranks, FIXTURE);
  if (!results) return;
  // The reference: each value's sum over ranks in float64 (a missing gradient adds nothing).
  const grads = Array.from({ length: ranks }, (_, k) => rankGradients(k, ranks));
  const exact = GRAD_PARAMS.map(({ size }, i) => Array.from({ length: size }, (_, j) => grads.reduce((s, g) => s + (g[i]?.[j] ?? 0), 0)));
  const scale = GRAD_PARAMS.map(({ size }, i) => Array.from({ length: size }, (_, j) => grads.reduce((s, g) => s + Math.abs(g[i]?.[j] ?? 0), 0)));
  for (const got of results) {
    const at = `rank ${got.rank}`;
    t.deepEqual(got.overlapped, got.sequential, `${at}: overlapped buckets = sequential, bit for bit`);
    GRAD_PARAMS.forEach(({ dtype }, i) => {
      // Two ranks: one rounding of the exact sum. More: within the additions' roundings of Σ|x|.
      const ulp = dtype === 'float64' ? 2 ** -52 : 2 ** -23;
      const bad = got.sequential[i].findIndex((v, j) =>
        ranks === 2 ? v !== (dtype === 'float64' ? exact[i][j] : Math.fround(exact[i][j])) : Math.abs(v - exact[i][j]) > ranks * ulp * scale[i][j]);
      t.is(bad, -1, `${at}: parameter ${i} (${dtype}) is the sum over ranks`);
    });
    t.deepEqual(got.overlapped, results[0].overlapped, `${at}: rank 0's bits`);
  }
}

mpiTest(`mpirun -np 2: sumGradients overlapped = sequential, bit for bit, = the sum over ranks${note}`, (t) => gradSum(t, 2));
mpiTest(`mpirun -np 3: the same with three ranks${note}`, (t) => gradSum(t, 3));

test('gradientBuckets: consecutive parameters of one dtype, at most bucketValues values each (a larger one alone)', (t) => {
  const device = r.cpuDevice();
  const params = GRAD_PARAMS.map(({ size, dtype }) => r.zeros([size], { device, dtype }));
  t.deepEqual(gradientBuckets(params, GRAD_BUCKET_VALUES).map((b) => b.map((p) => params.indexOf(p))), [[0, 1], [2], [3], [4, 5]]);
  t.deepEqual(gradientBuckets(params, 1).map((b) => b.length), [1, 1, 1, 1, 1, 1]);
  t.deepEqual(gradientBuckets([], 10), []);
});

test('sumGradients on one process: both ways leave the gradients\' values, a missing one becomes zeros; wall covers the parts', async (t) => {
  const device = r.cpuDevice();
  for (const overlap of [false, true]) {
    const params = GRAD_PARAMS.map(({ size, dtype }) => r.zeros([size], { device, dtype, requiresGrad: true }));
    const grads = rankGradients(0, 2);
    params.forEach((p, i) => (p.grad = grads[i] ? r.tensor(grads[i]!, [p.size], { device, dtype: p.dtype }) : null));
    params[4].grad = null;
    const times = await sumGradients(singleProcessCommunicator(), params, GRAD_BUCKET_VALUES, overlap);
    for (const [i, p] of params.entries()) t.deepEqual(Array.from(await p.grad!.data()), i === 4 ? [0] : Array.from(grads[i]!), `overlap ${overlap}: parameter ${i}`);
    t.true(times.wall >= times.read + times.write && times.reduce >= 0, JSON.stringify(times));
  }
});
