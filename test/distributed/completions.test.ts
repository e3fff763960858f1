// generateDatasetCompletions under `mpirun -np 2` (test/distributed/fixtures/completions.ts): the
// batches dealt out in rounds give every rank one process's records, in prompt order; `relpo
// generate --data` under it writes one process's file, rank 0 alone printing.
// Skipped without mpirun or the built addon, except under RELPO_REQUIRE_MPI=1 (CI).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as r from '../../src/index.js';
import { mpiGate, runUnderMpi } from '../helpers/mpi.js';
import { completionsRun, writePrompts, type CompletionsResult } from './fixtures/completions-setup.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/completions.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();

mpiTest(`mpirun -np 2: sampled completions of 5 prompts (3 rounds, the last one rank's) equal one process's, in prompt order${note}`, async (t) => {
  if (missing) return t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-gen-'));
  try {
    const data = join(dir, 'data.jsonl');
    writePrompts(data);
    const run = await runUnderMpi(2, FIXTURE, [data, dir], { timeoutMs: 120_000 });
    t.is(run.status, 0, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
    const [r0, r1] = [0, 1].map((k) => JSON.parse(readFileSync(join(dir, `rank-${k}.json`), 'utf8')) as CompletionsResult);
    const one = await completionsRun(await r.readPreferenceData(data));
    t.deepEqual(r0.records, one.records, "rank 0's records are one process's");
    t.deepEqual(r1.records, one.records, "and rank 1's");
    t.true(new Set(one.records.map((x) => x.completion)).size > 1, 'the rows differ');
    t.deepEqual(r0.calls, [[0, 1], [2, 3], [4]], 'onBatch once per round, its records in prompt order');
    t.deepEqual(r1.calls, r0.calls);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

mpiTest(`mpirun -np 2 relpo generate --data: the same completions file as one process (sampled), rank 0 alone prints and writes${note}`, async (t) => {
  if (missing) return t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-gen-'));
  try {
    execFileSync(process.execPath, [CLI, 'train', '--device', 'cpu', '--steps', '1', '--out', join(dir, 'run')], { stdio: 'ignore' });
    const args = (out: string) => ['generate', '--device', 'cpu', '--model', join(dir, 'run', 'checkpoint'), '--data', 'examples/toy-preferences.jsonl', '--limit', '5',
      '--max-new-tokens', '3', '--temperature', '1.5', '--seed', '3', '--save-every', '2', '--out', join(dir, out)];
    execFileSync(process.execPath, [CLI, ...args('one.jsonl')], { stdio: 'ignore' });
    const run = await runUnderMpi(2, CLI, args('two.jsonl'), { timeoutMs: 120_000 });
    t.is(run.status, 0, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
    const one = readFileSync(join(dir, 'one.jsonl'), 'utf8');
    t.is(readFileSync(join(dir, 'two.jsonl'), 'utf8'), one, 'the same lines in the same order');
    t.deepEqual(one.trim().split('\n').map((l) => JSON.parse(l).id), [0, 1, 2, 3, 4]);
    t.is(run.stdout.split('\n').filter((l) => /two\.jsonl: 5 completions/.test(l)).length, 1, run.stdout);
    t.regex(run.stderr, /5 prompts of .* on 2 ranks/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
