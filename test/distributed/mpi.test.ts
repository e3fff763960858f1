// The MPI communicator under `mpirun -np N` (test/distributed/fixtures/collectives.ts): every
// collective against values computed here, and a failing rank ending the job with its rank named.
// Skipped without mpirun or the built addon, except under RELPO_REQUIRE_MPI=1 (CI).
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MPI_REQUIRED, mpiGate, type MpiRun, mpirunMissing, runUnderMpi } from '../helpers/mpi.js';
import { BROADCAST_INTS, rankInputs, SUM_LENGTH } from './fixtures/inputs.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/collectives.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();
const noMpirun = mpirunMissing();
const mpirunTest = noMpirun && !MPI_REQUIRED ? test.serial.skip : test.serial;

function mpiHere(t: ExecutionContext, why = missing): boolean {
  if (why) t.fail(`RELPO_REQUIRE_MPI=1, but ${why}`);
  return !why;
}

const shown = (run: MpiRun) => `exit ${run.status}${run.signal ? ` (${run.signal})` : ''}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;

interface RankResult {
  rank: number;
  size: number;
  backend: string;
  f32: number[];
  f64: number[];
  f64Identical: number[];
  f32Identical: number[];
  ints: number[];
  doubles: number[];
  gathered: { data: number[]; counts: number[] };
  allTrue: boolean;
  lastFalse: boolean;
}

async function collectives(t: ExecutionContext, ranks: number): Promise<void> {
  if (!mpiHere(t)) return;
  const out = mkdtempSync(join(tmpdir(), 'relpo-mpi-'));
  try {
    const run = await runUnderMpi(ranks, FIXTURE, ['collectives', out]);
    t.is(run.status, 0, shown(run));
    const results: RankResult[] = Array.from({ length: ranks }, (_, r) => JSON.parse(readFileSync(join(out, `rank-${r}.json`), 'utf8')));
    const inputs = Array.from({ length: ranks }, (_, r) => rankInputs(r));
    // References: sums in float64 in rank order; the gathered rows concatenated in rank order.
    const f32Sum = Array.from({ length: SUM_LENGTH }, (_, i) => inputs.reduce((s, x) => s + x.f32[i], 0));
    const f64Sum = Array.from({ length: SUM_LENGTH }, (_, i) => inputs.reduce((s, x) => s + x.f64[i], 0));
    const f64Scale = Array.from({ length: SUM_LENGTH }, (_, i) => inputs.reduce((s, x) => s + Math.abs(x.f64[i]), 0));
    const rows = inputs.flatMap((x) => [...x.rows]);
    const counts = inputs.map((x) => x.rows.length);
    for (const got of results) {
      const at = `rank ${got.rank}`;
      t.like(got, { size: ranks, backend: 'mpi', allTrue: true, lastFalse: false }, at);
      t.deepEqual(got.f32, f32Sum, `${at}: float32 sums (exact: multiples of 1/4)`);
      t.deepEqual(got.f32Identical, f32Sum, `${at}: float32 sums, reduce then broadcast`);
      // Two ranks add once (exact IEEE); more may associate in any order: within n ulps of Σ|x|.
      const tolerance = (i: number) => (ranks === 2 ? 0 : ranks * 2 ** -52 * f64Scale[i]);
      const off = (values: number[]) => values.findIndex((v, i) => Math.abs(v - f64Sum[i]) > tolerance(i));
      t.is(off(got.f64), -1, `${at}: float64 sums`);
      t.is(off(got.f64Identical), -1, `${at}: float64 sums, reduce then broadcast`);
      t.deepEqual(got.ints, BROADCAST_INTS, `${at}: Int32Array broadcast from the last rank`);
      t.deepEqual(got.doubles, [...inputs[0].f64.slice(0, 5)], `${at}: Float64Array broadcast from rank 0`);
      t.deepEqual(got.gathered, { data: rows, counts }, `${at}: rows gathered in rank order`);
    }
    for (const got of results.slice(1)) {
      t.deepEqual(got.f64Identical, results[0].f64Identical, `rank ${got.rank}: the same float64 bits as rank 0 (reduce then broadcast)`);
      t.deepEqual(got.f32Identical, results[0].f32Identical, `rank ${got.rank}: the same float32 bits as rank 0`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

mpiTest(`mpirun -np 2: float32/float64 sums, broadcast, rows gathered in rank order, barrier, identical sums${note}`, (t) => collectives(t, 2));
mpiTest(`mpirun -np 3: the same with three ranks (one gathers no rows)${note}`, (t) => collectives(t, 3));

for (const [mode, says] of [
  ['throw', /relpo: rank 1 of 2 failed: Error: a bad row on this rank \(1\)/],
  ['reject', /relpo: rank 1 of 2 failed: Error: a rejected read on this rank \(1\)/],
  ['exit', /relpo: rank 1 of 2 exited with code 3; it ends the job/],
  ['kill', /process rank 1 .*exited on signal 9/],
] as const) {
  mpiTest(`mpirun -np 2: a rank that fails (${mode}) ends the job, non-zero, naming the rank${note}`, async (t) => {
    if (!mpiHere(t)) return;
    const run = await runUnderMpi(2, FIXTURE, [mode, tmpdir()], { timeoutMs: 30_000 });
    t.is(run.signal, null, `mpirun ended by the test's timeout: a rank was left waiting\n${shown(run)}`);
    t.not(run.status, 0, shown(run));
    t.regex(run.stdout + run.stderr, says, shown(run));
  });
}

mpirunTest(`mpirun -np 2 without the addon: every rank refuses, saying how to build it${noMpirun ? ` (skipped: ${noMpirun})` : ''}`, async (t) => {
  if (!mpiHere(t, noMpirun)) return;
  const run = await runUnderMpi(2, FIXTURE, ['collectives', tmpdir()], { env: { ...process.env, RELPO_MPI_ADDON: '/nonexistent/relpo_mpi.node' }, timeoutMs: 30_000 });
  t.not(run.status, 0, shown(run));
  t.regex(run.stderr, /launched as rank [01] of 2 \(OMPI_COMM_WORLD_SIZE=2\), but the MPI addon is not built .*npm run build:mpi/, shown(run));
});
