// The gradient sum started from backward's hook (grad-sum-in-backward.ts) against the one started
// after the backward, under `mpirun -np 2/3` (test/distributed/fixtures/grad-sum-hook.ts): three
// training steps in small buckets give the same weights and metrics bit for bit, with the same
// all-reduces (the same buckets, called last first), most of them from inside backward. Skipped
// without mpirun or the built addon, except under RELPO_REQUIRE_MPI=1 (CI); the WebGPU run also
// without an adapter, except under CI.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StepMetrics } from '../../src/train/index.js';
import { mpiGate, runUnderMpi } from '../helpers/mpi.js';
import { gpuOrSkip } from '../helpers/devices.js';
import { singleProcessCommunicator } from '../../src/distributed/index.js';
import { trainRun, writePaired } from './fixtures/train-setup.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/grad-sum-hook.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();

interface Run {
  params: number[];
  history: StepMetrics[];
  calls: { length: number; inBackward: boolean }[];
}

const untimed = (m: StepMetrics) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'tokens/s' && !k.startsWith('time/')));

async function hookedAsAfter(t: ExecutionContext, ranks: number, device: 'cpu' | 'webgpu'): Promise<void> {
  if (missing) return void t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-hook-'));
  try {
    const run = await runUnderMpi(ranks, FIXTURE, [device, dir], { timeoutMs: 240_000 });
    t.is(run.status, 0, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
    if (run.status !== 0) return;
    const results = Array.from({ length: ranks }, (_, r) => JSON.parse(readFileSync(join(dir, `rank-${r}.json`), 'utf8')) as { rank: number; runs: Record<string, Run> });
    for (const loss of device === 'webgpu' ? ['dpo'] : ['dpo', 'rpo']) {
      for (const { rank, runs } of results) {
        const at = `rank ${rank}, ${loss}`;
        const after = runs[`${loss}/after`], hooked = runs[`${loss}/backward`];
        t.is(hooked.params.findIndex((v, i) => !Object.is(v, after.params[i])), -1, `${at}: the weights after 3 steps, bit for bit`);
        t.deepEqual(hooked.history.map(untimed), after.history.map(untimed), `${at}: the metrics, bit for bit`);
        t.deepEqual(hooked.params, results[0].runs[`${loss}/backward`].params, `${at}: rank 0's weights`);
        // The same buckets: the hook calls them last first.
        const lengths = (c: Run['calls']) => c.map((x) => x.length);
        const perStep = after.calls.length / 3;
        t.true(perStep > 3 && Number.isInteger(perStep), `${at}: ${after.calls.length} all-reduces in 3 steps`);
        t.deepEqual(lengths(hooked.calls), [0, 1, 2].flatMap((s) => lengths(after.calls.slice(s * perStep, (s + 1) * perStep)).reverse()), `${at}: the same all-reduces, last bucket first`);
        const inside = hooked.calls.filter((c) => c.inBackward).length;
        t.true(inside >= hooked.calls.length / 2, `${at}: ${inside} of ${hooked.calls.length} all-reduces called from inside backward`);
        t.log(`${at}: ${perStep} buckets a step, ${inside} of ${hooked.calls.length} all-reduces called from inside backward`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

mpiTest(`mpirun -np 2: the gradient sum from backward's hook = after backward, bit for bit (dpo and rpo, float64 CPU)${note}`, (t) => hookedAsAfter(t, 2, 'cpu'));
mpiTest(`mpirun -np 3: the same with three ranks (6 micro-batches × 1 pair)${note}`, (t) => hookedAsAfter(t, 3, 'cpu'));
mpiTest(`mpirun -np 2 on WebGPU (float32): the hook's sum = after backward, bit for bit (dpo)${note}`, async (t) => {
  if (!(await gpuOrSkip(t))) return t.pass();
  await hookedAsAfter(t, 2, 'webgpu');
});

mpiTest(`mpirun -np 2, small buckets: a rank failing before its last backward (its buckets called after it, the other rank's from inside backward) refuses the step on every rank, naming it, without a hang${note}`, async (t) => {
  if (missing) return void t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  const TRAIN = fileURLToPath(new URL('./fixtures/train.js', import.meta.url));
  const cases: [string, RegExp][] = [
    ['nan', /rank 1 of 2 failed in step 2: trainPreference: step 2 \(epoch 1, batch 2, micro-batch 3 of 4\): loss is NaN.*last checkpoint \(step 1\)/],
    ['rpo-pass2', /rank 1 of 2 failed in step 2: a fault in pass 2 on this rank \(1\)/],
  ];
  for (const [mode, message] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'relpo-hook-'));
    try {
      const data = join(dir, 'data.jsonl');
      writePaired(data);
      const failed = await runUnderMpi(2, TRAIN, [mode, data, dir], { timeoutMs: 120_000, env: { ...process.env, RELPO_TEST_GRAD_BUCKET: '600' } });
      t.is(failed.signal, null, `${mode}: ended by itself, not by the timeout`);
      t.not(failed.status, 0, mode);
      t.regex(failed.stderr, message, `${mode}: rank 0 names rank 1\n${failed.stderr}`);
      const run = join(dir, 'run');
      t.is(JSON.parse(readFileSync(join(run, 'checkpoint', 'trainer_state.json'), 'utf8')).step, 1, `${mode}: step 2 was not applied`);
      t.deepEqual(readdirSync(run).filter((f) => f.startsWith('checkpoint')).sort(), ['checkpoint', 'checkpoint-1'], mode);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('gradientSumStarts and gradientBucketValues: a bad value is refused, naming the option', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-hook-'));
  try {
    const data = join(dir, 'data.jsonl');
    writePaired(data);
    const communicator = singleProcessCommunicator();
    await t.throwsAsync(trainRun({ loss: 'dpo', data, communicator, gradientSumStarts: 'during' as 'after' }), { message: /gradientSumStarts must be 'backward' or 'after', got "during"/ });
    await t.throwsAsync(trainRun({ loss: 'dpo', data, communicator, gradientBucketValues: 0.5 }), { message: /gradientBucketValues must be a positive integer, got 0.5/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
