// The deferred all-reduces under `mpirun -np 2/3` (test/distributed/fixtures/deferred-collectives.ts):
// their turn is the call's, whenever and in whatever order their buffers are filled; they give
// the blocking identical sum's bits; a blocking collective called while one waits for ready()
// throws instead of deadlocking. Skipped without mpirun or the built addon, except under
// RELPO_REQUIRE_MPI=1 (CI).
import test, { type ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { singleProcessCommunicator } from '../../src/distributed/index.js';
import { mpiGate, rankResults } from '../helpers/mpi.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/deferred-collectives.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();

type Arrays = Record<'f64' | 'f32' | 'big', number[]>;
interface RankResult {
  rank: number;
  blocking: Arrays;
  deferred: Arrays;
  seconds: number[];
  refusedAllTrue: string;
  refusedBarrier: string;
  readyTwice: string;
  stillRefused: string;
  afterReady: boolean;
}

async function deferredCollectives(t: ExecutionContext, ranks: number): Promise<void> {
  const results = await rankResults<RankResult>(t, ranks, FIXTURE);
  if (!results) return;
  for (const got of results) {
    const at = `rank ${got.rank}`;
    t.is(got.deferred.f64.findIndex((v, i) => v !== got.blocking.f64[i]), -1, `${at}: deferred float64 = the blocking identical sum, bit for bit`);
    t.is(got.deferred.big.findIndex((v, i) => v !== got.blocking.big[i]), -1, `${at}: deferred float32, filled first, = blocking`);
    t.deepEqual(got.deferred.f32, got.blocking.f32, `${at}: the asynchronous one called after them`);
    t.deepEqual(got.deferred, results[0].deferred, `${at}: rank 0's bits`);
    t.true(got.seconds.every((s) => s >= 0 && s < 30), `${at}: seconds in MPI ${got.seconds}`);
    t.regex(got.refusedAllTrue, /^relpo_mpi: allReduce was called while 2 deferred all-reduce\(s\) wait for ready\(\).*deadlock/, at);
    t.regex(got.refusedBarrier, /^relpo_mpi: barrier was called while 2 deferred/, at);
    t.regex(got.stillRefused, /^relpo_mpi: allGatherRows was called while 1 deferred/, `${at}: one filled, one still waiting`);
    t.is(got.readyTwice, 'allReduceSumIdenticalDeferred: ready() was called twice', at);
    t.true(got.afterReady, `${at}: blocking collectives go on once every deferred one is ready`);
  }
}

mpiTest(`mpirun -np 2: deferred all-reduces run in call order whatever the fills' order and times, = blocking bits; blocking calls refuse while one waits${note}`, (t) => deferredCollectives(t, 2));
mpiTest(`mpirun -np 3: the same with three ranks${note}`, (t) => deferredCollectives(t, 3));

test('single process: a deferred all-reduce resolves after ready(), leaves the buffer, refuses a second ready()', async (t) => {
  const comm = singleProcessCommunicator();
  const buf = Float64Array.of(1.5, -2);
  const d = comm.allReduceSumIdenticalDeferred(buf);
  let settled = false;
  void d.done.then(() => (settled = true));
  await new Promise((res) => setImmediate(res));
  t.false(settled, 'not before ready()');
  d.ready();
  t.is(await d.done, 0);
  t.deepEqual([...buf], [1.5, -2]);
  t.throws(() => d.ready(), { message: 'allReduceSumIdenticalDeferred: ready() was called twice' });
  t.throws(() => comm.allReduceSumIdenticalDeferred(new Int8Array(2) as unknown as Float32Array), { instanceOf: TypeError });
});
