// The data-parallel trainer under `mpirun -np 2` (test/distributed/fixtures/train.ts): the weights
// after 3 steps equal one process's at the same effective batch (float64, CPU), for dpo (one pass
// per micro-batch, gradients summed) and for rpo in step scope (its 8 × 8 matrix spanning both
// ranks; under -np 3 a 6 × 6 one spanning three); a failing rank ends the job naming itself and
// leaves an intact checkpoint; resuming with the same number of ranks continues exactly, and with
// another is refused; an evaluation split across the ranks gives every rank one process's eval
// metrics; a rank failing inside a two-pass step is every rank's refusal; the reference log-probs
// precomputed in parts train as one process.
// Skipped without mpirun or the built addon, except under RELPO_REQUIRE_MPI=1 (CI).
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { singleProcessCommunicator } from '../../src/distributed/index.js';
import { mpiGate, type MpiRun, runUnderMpi } from '../helpers/mpi.js';
import { trainRun, writePaired, type TrainResult } from './fixtures/train-setup.js';
import { normRel } from '../helpers/norm-relative.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/train.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();

function mpiHere(t: ExecutionContext): boolean {
  if (missing) t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  return !missing;
}

const shown = (run: MpiRun) => `exit ${run.status}${run.signal ? ` (${run.signal})` : ''}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;

interface RankResult extends TrainResult {
  rank: number;
  size: number;
}

function workDir(): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-'));
  const data = join(dir, 'data.jsonl');
  writePaired(data);
  return { dir, data };
}

const ranksOf = (dir: string, ranks = 2): RankResult[] => Array.from({ length: ranks }, (_, r) => JSON.parse(readFileSync(join(dir, `rank-${r}.json`), 'utf8')) as RankResult);

const untimed = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'tokens/s' && !k.startsWith('time/')));

async function sameAsOneProcess(t: ExecutionContext, loss: 'dpo' | 'rpo', ranks = 2): Promise<void> {
  if (!mpiHere(t)) return;
  const { dir, data } = workDir();
  const sixByOne = ranks === 3;
  try {
    const run = await runUnderMpi(ranks, FIXTURE, [sixByOne ? `${loss}-6x1` : loss, data, dir], { timeoutMs: 180_000 });
    t.is(run.status, 0, shown(run));
    const [r0, ...others] = ranksOf(dir, ranks);
    t.is(r0.size, ranks);
    for (const r of others) {
      t.deepEqual(r.params, r0.params, 'the replicas are bit-identical');
      t.deepEqual(r.history.map(untimed), r0.history.map(untimed), 'every rank has the same metrics (but its own timings)');
    }
    const one = await trainRun({ loss, data, sixByOne, communicator: singleProcessCommunicator() });
    const rel = normRel(r0.params, one.params);
    t.true(rel <= 1e-10, `weights after 3 steps vs one process: ${rel.toExponential(2)}`);
    one.history.forEach((m, i) => {
      for (const key of Object.keys(untimed(m))) {
        const got = r0.history[i][key];
        t.true(Math.abs(got - m[key]) <= 1e-10 * Math.max(1, Math.abs(m[key])), `step ${i + 1} ${key}: ${got} vs ${m[key]}`);
      }
      t.true(r0.history[i]['time/grad_sync_s'] >= 0, 'the gradient sum is timed');
    });
    const n = sixByOne ? 6 : 8;
    if (loss === 'rpo') t.deepEqual(r0.history.map((m) => [m['loss_rows/chosen'], m['loss_rows/rejected']]), [[n, n], [n, n], [n, n]], `an ${n} × ${n} matrix over every rank's rows`);
    else t.deepEqual(r0.history.map((m) => m['loss_rows/chosen']), [2, 2, 2], 'dpo: the mean micro-batch');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

mpiTest(`mpirun -np 2: dpo's weights after 3 steps equal one process's (float64, 1e-10)${note}`, (t) => sameAsOneProcess(t, 'dpo'));
mpiTest(`mpirun -np 2: rpo in step scope, one contrast matrix over both ranks, equals one process${note}`, (t) => sameAsOneProcess(t, 'rpo'));
mpiTest(`mpirun -np 3: rpo in step scope (6 micro-batches × 1 pair, two per rank), one 6 × 6 matrix over the three ranks' rows, equals one process${note}`, (t) => sameAsOneProcess(t, 'rpo', 3));

async function evaluatesAsOneProcess(t: ExecutionContext, loss: 'dpo' | 'rpo'): Promise<void> {
  if (!mpiHere(t)) return;
  const { dir, data } = workDir();
  try {
    const run = await runUnderMpi(2, FIXTURE, [`${loss}-eval`, data, dir], { timeoutMs: 120_000 });
    t.is(run.status, 0, shown(run));
    const [r0, r1] = ranksOf(dir);
    t.deepEqual(r0.evalHistory.map((m) => [m.step, m.eval_samples]), [[2, 8], [3, 8]], 'evaluations after steps 2 and 3 over all 8 pairs');
    t.deepEqual(r1.evalHistory, r0.evalHistory, 'every rank has the same eval metrics, bit for bit');
    const one = await trainRun({ loss, data, evaluate: true, communicator: singleProcessCommunicator() });
    t.deepEqual(Object.keys(r0.evalHistory[0]).sort(), Object.keys(one.evalHistory[0]).sort());
    // The same batches' sums added in the same order; the weights evaluated differ from one process's by ≤ 1e-10 relative.
    let worst = 0;
    one.evalHistory.forEach((m, i) => {
      for (const [key, want] of Object.entries(m)) {
        const got = r0.evalHistory[i][key];
        worst = Math.max(worst, Math.abs(got - want) / Math.max(1, Math.abs(want)));
        t.true(Math.abs(got - want) <= 1e-10 * Math.max(1, Math.abs(want)), `evaluation ${i + 1} ${key}: ${got} vs ${want}`);
      }
    });
    t.log(`largest difference from one process's eval metrics: ${worst.toExponential(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

mpiTest(`mpirun -np 2: dpo's evaluation (3 eval batches split 1 + 2) equals one process's${note}`, (t) => evaluatesAsOneProcess(t, 'dpo'));
mpiTest(`mpirun -np 2: rpo's evaluation (its matrix per eval batch) equals one process's${note}`, (t) => evaluatesAsOneProcess(t, 'rpo'));

mpiTest(`mpirun -np 2: a failing rank ends the job naming itself, the checkpoint is intact, resuming with 2 ranks is exact, with 1 refused${note}`, async (t) => {
  if (!mpiHere(t)) return;
  const { dir, data } = workDir();
  try {
    const failed = await runUnderMpi(2, FIXTURE, ['fail', data, dir], { timeoutMs: 120_000 });
    t.not(failed.status, 0, shown(failed));
    t.regex(failed.stderr, /rank 1 of 2 failed.*a bad row on this rank \(1\)/, shown(failed));
    const run = join(dir, 'run');
    const state = JSON.parse(readFileSync(join(run, 'checkpoint', 'trainer_state.json'), 'utf8'));
    t.is(state.step, 1, 'the last checkpoint before the failure');
    t.is(state.worldSize, 2, 'the checkpoint records the ranks');
    t.true(readdirSync(run).every((f) => !/^checkpoint/.test(f) || existsSync(join(run, f, 'trainer_state.json'))), `no checkpoint folder without its state: ${readdirSync(run).join(', ')}`);
    // One process cannot continue a 2-rank run.
    await t.throwsAsync(trainRun({ loss: 'dpo', data, outDir: run, resume: true, communicator: singleProcessCommunicator() }), { message: /trained by 2 rank\(s\), this run has 1/ });
    const resumed = await runUnderMpi(2, FIXTURE, ['resume', data, dir], { timeoutMs: 120_000 });
    t.is(resumed.status, 0, shown(resumed));
    const [r0] = ranksOf(dir);
    const straight = await runUnderMpi(2, FIXTURE, ['dpo', data, dir], { timeoutMs: 120_000 });
    t.is(straight.status, 0, shown(straight));
    t.deepEqual(r0.params, ranksOf(dir)[0].params, 'resumed with 2 ranks = 3 uninterrupted steps on 2 ranks, bit for bit');
    const lines = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    t.deepEqual(lines, [1, 2, 3], 'rank 0 alone wrote metrics.jsonl, one line per step');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

mpiTest(`mpirun -np 2: a NaN loss on one rank refuses the step on every rank, naming the rank; the checkpoint before it is intact${note}`, async (t) => {
  if (!mpiHere(t)) return;
  const { dir, data } = workDir();
  try {
    const failed = await runUnderMpi(2, FIXTURE, ['nan', data, dir], { timeoutMs: 120_000 });
    t.not(failed.status, 0, shown(failed));
    t.regex(failed.stderr, /rank 1 of 2 failed in step 2: trainPreference: step 2 \(epoch 1, batch 2, micro-batch 3 of 4\): loss is NaN.*last checkpoint \(step 1\)/, shown(failed));
    const run = join(dir, 'run');
    t.is(JSON.parse(readFileSync(join(run, 'checkpoint', 'trainer_state.json'), 'utf8')).step, 1);
    t.deepEqual(readdirSync(run).filter((f) => f.startsWith('checkpoint')).sort(), ['checkpoint', 'checkpoint-1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

mpiTest(`mpirun -np 2: a rank failing inside a two-pass step (rpo, step scope), in pass 1 (a NaN row) or in pass 2 (a fault), refuses the step on every rank, naming the rank; the checkpoint before it is intact${note}`, async (t) => {
  if (!mpiHere(t)) return;
  const cases: [string, RegExp][] = [
    ['rpo-nan', /rank 1 of 2 failed in step 2: trainPreference: step 2 \(epoch 1, batch 2, micro-batch 3 of 4\): \w+\.refLogps\[\d+\] is NaN \(pass 1\).*last checkpoint \(step 1\)/],
    ['rpo-pass2', /rank 1 of 2 failed in step 2: a fault in pass 2 on this rank \(1\)/],
  ];
  for (const [mode, message] of cases) {
    const { dir, data } = workDir();
    try {
      const failed = await runUnderMpi(2, FIXTURE, [mode, data, dir], { timeoutMs: 120_000 });
      t.not(failed.status, 0, shown(failed));
      t.regex(failed.stderr, message, `${mode}: rank 0 names rank 1\n${shown(failed)}`);
      const run = join(dir, 'run');
      t.is(JSON.parse(readFileSync(join(run, 'checkpoint', 'trainer_state.json'), 'utf8')).step, 1, `${mode}: step 2 was not applied`);
      t.deepEqual(readdirSync(run).filter((f) => f.startsWith('checkpoint')).sort(), ['checkpoint', 'checkpoint-1'], mode);
      t.deepEqual(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step), [1], `${mode}: no line for step 2`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

mpiTest(`mpirun -np 2: with precomputeRefLogps (each rank a part of the reference's batches) rpo's weights after 3 steps equal one process's, every row read from the cache${note}`, async (t) => {
  if (!mpiHere(t)) return;
  const { dir, data } = workDir();
  try {
    const run = await runUnderMpi(2, FIXTURE, ['rpo-precompute', data, dir], { timeoutMs: 120_000 });
    t.is(run.status, 0, shown(run));
    const [r0, r1] = ranksOf(dir);
    t.deepEqual(r1.params, r0.params, 'the replicas are bit-identical');
    const one = await trainRun({ loss: 'rpo', data, precompute: true, communicator: singleProcessCommunicator() });
    t.deepEqual(one.referenceCache, { rows: 16, hits: 48, misses: 0 });
    t.deepEqual(r0.referenceCache, { rows: 16, hits: 24, misses: 0 }, "rank 0 holds every row, and reads its half of each step's from the cache");
    t.deepEqual(r1.referenceCache, r0.referenceCache);
    const rel = normRel(r0.params, one.params);
    t.true(rel <= 1e-10, `weights after 3 steps vs one process: ${rel.toExponential(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

mpiTest(`mpirun -np 2 relpo train: rank 0 alone prints and writes${note}`, async (t) => {
  if (!mpiHere(t)) return;
  const { dir, data } = workDir();
  try {
    const out = join(dir, 'out');
    const run = await runUnderMpi(2, CLI, ['train', '--device', 'cpu', '--data', data, '--loss', 'dpo', '--steps', '1', '--batch', '2', '--gradient-accumulation-steps', '2', '--out', out], { timeoutMs: 120_000 });
    t.is(run.status, 0, shown(run));
    const count = (text: string, what: RegExp) => text.split('\n').filter((l) => what.test(l)).length;
    t.is(count(run.stdout, /^data: /), 1, shown(run));
    t.is(count(run.stdout, /^steps 1–1: loss/), 1, shown(run));
    t.is(count(run.stderr, /^relpo: device cpu/), 1, shown(run));
    t.deepEqual(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step), [1]);
    t.is(JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')).worldSize, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

mpiTest(`mpirun -np 2 relpo eval: each rank a part of the batches (5 batches: 2 + 3), rank 0 prints one process's metrics${note}`, async (t) => {
  if (!mpiHere(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-eval-'));
  try {
    execFileSync(process.execPath, [CLI, 'train', '--device', 'cpu', '--steps', '1', '--out', join(dir, 'run')], { stdio: 'ignore' });
    const args = ['eval', '--device', 'cpu', '--model', join(dir, 'run', 'checkpoint'), '--data', 'examples/toy-preferences.jsonl', '--loss', 'dpo', '--batch', '5'];
    const one = execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    t.regex(one, /: 24 pairs, loss dpo/);
    const run = await runUnderMpi(2, CLI, args, { timeoutMs: 120_000 });
    t.is(run.status, 0, shown(run));
    t.is(run.stdout, one, 'the same lines, printed once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
