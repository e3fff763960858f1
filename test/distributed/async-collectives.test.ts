// The asynchronous all-reduces under `mpirun -np 2/3` (test/distributed/fixtures/async-collectives.ts):
// the same bits as the blocking forms, safe beside blocking collectives called while they run, and
// errors that reject naming the MPI call. Skipped without mpirun or the built addon, except under
// RELPO_REQUIRE_MPI=1 (CI).
import test, { type ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { singleProcessCommunicator } from '../../src/distributed/index.js';
import { mpiGate, rankResults } from '../helpers/mpi.js';
import { bigInput, BIG_LENGTH, rankInputs, SUM_LENGTH } from './fixtures/inputs.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/async-collectives.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();

type Arrays = Record<'f32' | 'f64' | 'f64Identical' | 'f32Identical', number[]>;
interface RankResult {
  rank: number;
  blocking: Arrays;
  async: Arrays;
  seconds: number[];
  interleaved: { a: number[]; b: number[]; small: number[]; lastFalse: boolean; gathered: { data: number[]; counts: number[] } };
  badRoot: string;
  badType: string;
  afterErrors: boolean;
}

async function asyncCollectives(t: ExecutionContext, ranks: number): Promise<void> {
  const results = await rankResults<RankResult>(t, ranks, FIXTURE);
  if (!results) return;
  // References: float64 sums in rank order (exact for these multiples of 1/4), rows concatenated in rank order.
  const inputs = Array.from({ length: ranks }, (_, r) => rankInputs(r));
  const sum = (length: number, at: (r: number, i: number) => number) => Array.from({ length }, (_, i) => inputs.reduce((s, _x, r) => s + at(r, i), 0));
  const bigs = [0, 1].map((which) => Array.from({ length: ranks }, (_, r) => bigInput(r, which)));
  const bigSums = bigs.map((b) => sum(BIG_LENGTH, (r, i) => b[r][i]));
  const f32Sum = sum(SUM_LENGTH, (r, i) => inputs[r].f32[i]);
  for (const got of results) {
    const at = `rank ${got.rank}`;
    for (const key of ['f32', 'f64', 'f64Identical', 'f32Identical'] as const) t.deepEqual(got.async[key], got.blocking[key], `${at}: ${key} asynchronous = blocking, bit for bit`);
    t.deepEqual(got.async.f32, f32Sum, `${at}: float32 sums`);
    t.true(got.seconds.every((s) => s >= 0 && s < 30), `${at}: seconds in MPI ${got.seconds}`);
    // findIndex, not deepEqual: ava's diffing of 300 000 values takes seconds.
    t.is(got.interleaved.a.findIndex((v, i) => v !== bigSums[0][i]), -1, `${at}: the identical sum started before the blocking calls`);
    t.is(got.interleaved.b.findIndex((v, i) => v !== bigSums[1][i]), -1, `${at}: the sum started between them`);
    t.deepEqual(got.interleaved.small, f32Sum, `${at}: the blocking sum called while one ran`);
    t.false(got.interleaved.lastFalse, at);
    t.deepEqual(got.interleaved.gathered, { data: inputs.flatMap((x) => [...x.rows]), counts: inputs.map((x) => x.rows.length) }, `${at}: rows gathered while one ran`);
    t.regex(got.badRoot, /^Error: MPI_Reduce failed: .*root/i, `${at}: a root MPI refuses rejects with MPI's message`);
    t.regex(got.badType, /^TypeError: allReduceSumAsync: expected a Float32Array or a Float64Array, got Int32Array/, at);
    t.true(got.afterErrors, `${at}: collectives go on after a rejected one`);
  }
  for (const got of results.slice(1)) {
    t.deepEqual(got.async.f64Identical, results[0].async.f64Identical, `rank ${got.rank}: rank 0's float64 bits`);
    t.deepEqual(got.async.f32Identical, results[0].async.f32Identical, `rank ${got.rank}: rank 0's float32 bits`);
  }
}

mpiTest(`mpirun -np 2: asynchronous all-reduces give the blocking forms' bits, interleave with blocking collectives, reject on errors${note}`, (t) => asyncCollectives(t, 2));
mpiTest(`mpirun -np 3: the same with three ranks (reduce order is MPI's, identical on every rank)${note}`, (t) => asyncCollectives(t, 3));

test('single process: the asynchronous forms leave the buffer and resolve; a wrong type rejects', async (t) => {
  const comm = singleProcessCommunicator();
  const buf = Float64Array.of(1.5, -2);
  t.is(await comm.allReduceSumIdenticalAsync(buf), 0);
  t.is(await comm.allReduceSumAsync(buf), 0);
  t.deepEqual([...buf], [1.5, -2]);
  await t.throwsAsync(comm.allReduceSumAsync(new Int8Array(2) as unknown as Float32Array), { instanceOf: TypeError, message: /allReduceSumAsync: expected a Float32Array/ });
});
