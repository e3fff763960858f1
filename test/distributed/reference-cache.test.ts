// The reference log-probs' precomputation split across ranks (test/distributed/fixtures/reference-cache.ts):
// under mpirun -np 2 (3 batches: 1 + 2) and -np 3 (one each), every rank's cache holds every row's
// value, bit for bit one process's, in one process's order; a rank failing in its part makes every
// rank fail, naming it. The trainer's use of it is in trainer.test.ts.
// Skipped without mpirun or the built addon, except under RELPO_REQUIRE_MPI=1 (CI).
import type { ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { singleProcessCommunicator } from '../../src/distributed/index.js';
import { mpiGate, type MpiRun, runUnderMpi } from '../helpers/mpi.js';
import { writePaired } from './fixtures/train-setup.js';
import { fillReferenceCache } from './fixtures/reference-cache-setup.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/reference-cache.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();
const shown = (run: MpiRun) => `exit ${run.status}${run.signal ? ` (${run.signal})` : ''}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;

async function inDir(t: ExecutionContext, fn: (dir: string, data: string) => Promise<void>): Promise<void> {
  if (missing) return void t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-ref-'));
  try {
    const data = join(dir, 'data.jsonl');
    writePaired(data);
    await fn(dir, data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const ranks of [2, 3]) {
  mpiTest(`mpirun -np ${ranks}: the reference log-probs, each rank a part of the batches, fill every rank's cache with one process's values, bit for bit${note}`, (t) =>
    inDir(t, async (dir, data) => {
      const run = await runUnderMpi(ranks, FIXTURE, ['fill', data, dir], { timeoutMs: 120_000 });
      t.is(run.status, 0, shown(run));
      const one = await fillReferenceCache(data, singleProcessCommunicator());
      t.is(one.length, 16, 'both sides of the eight pairs');
      for (let r = 0; r < ranks; r++) {
        const got = JSON.parse(readFileSync(join(dir, `rank-${r}.json`), 'utf8')) as { size: number; entries: [string, number][] };
        t.is(got.size, ranks);
        t.deepEqual(got.entries, one, `rank ${r}: every row, one process's value and order`);
      }
    }));
}

mpiTest(`mpirun -np 2: a rank failing in its part of the reference log-probs makes every rank fail, naming it${note}`, (t) =>
  inDir(t, async (dir, data) => {
    const run = await runUnderMpi(2, FIXTURE, ['fail', data, dir], { timeoutMs: 120_000 });
    t.not(run.status, 0, shown(run));
    t.regex(run.stderr, /rank 1 of 2 failed in its part of the reference log-probs: the reference failed on this rank \(1\)/, shown(run));
  }));
