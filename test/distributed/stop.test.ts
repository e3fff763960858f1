// Stopping `relpo train` under `mpirun -np 2`: SIGUSR1 sent to mpirun (which forwards it to every
// rank) ends every rank at the same step with a whole checkpoint, and resuming on 2 ranks gives the
// uninterrupted 2-rank run bit for bit; Ctrl-C (SIGINT) to scripts/mpirun-graceful.sh does the same.
// Skipped without mpirun or the built addon, except under RELPO_REQUIRE_MPI=1 (CI).
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mpiGate, type MpiRun, mpirunArgv, runUnderMpi } from '../helpers/mpi.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();

const shown = (run: MpiRun) => `exit ${run.status}${run.signal ? ` (${run.signal})` : ''}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;

const GRACEFUL = fileURLToPath(new URL('../../../scripts/mpirun-graceful.sh', import.meta.url));

/** mpirun (or the script around it) started in the background, signalled once rank 0 has logged the first step. */
async function signalledAfterFirstStep(command: string[], args: string[], out: string, sig: NodeJS.Signals): Promise<MpiRun> {
  const child = spawn(command[0], [...command.slice(1), ...mpirunArgv(2, CLI, args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: MpiRun = { status: null, signal: null, stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (run.stdout += String(d)));
  child.stderr.on('data', (d) => (run.stderr += String(d)));
  const exited = new Promise<void>((res) => child.once('exit', (code, signal) => res(void Object.assign(run, { status: code, signal }))));
  const metrics = join(out, 'metrics.jsonl');
  const deadline = Date.now() + 120_000;
  while (!(existsSync(metrics) && readFileSync(metrics, 'utf8').trim()) && Date.now() < deadline && child.exitCode === null) await new Promise((res) => setTimeout(res, 100));
  child.kill(sig);
  // A hang (ranks that disagree on the step wait in a collective for ever) fails instead of waiting.
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  await exited;
  clearTimeout(timer);
  return run;
}

/** The run stopped cleanly: at a step before the last, its checkpoint and metrics at that step, nothing half-written. */
function stoppedWhole(t: ExecutionContext, run: MpiRun, out: string): void {
  const state = JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')) as { step: number; worldSize: number };
  t.is(state.worldSize, 2);
  t.true(state.step >= 1 && state.step < 3, `stopped at step ${state.step} of 3`);
  t.regex(run.stderr, new RegExp(`stopped by SIGUSR1 after step ${state.step}; checkpoint: \\S*checkpoint; continue with: relpo train --out \\S*stopped --resume`));
  t.is(run.stderr.split('\n').filter((l) => /^stopped by/.test(l)).length, 1, 'rank 0 alone says so');
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step as number);
  t.deepEqual(steps, Array.from({ length: state.step }, (_, i) => i + 1), 'one metrics line per step up to the checkpoint');
  t.deepEqual(readdirSync(out).filter((f) => f.includes('.tmp') || f.startsWith('.relpo-train.lock')), [], 'no temporary checkpoint or lock left');
}

const ARGS = ['train', '--device', 'cpu', '--loss', 'rpo', '--batch', '2', '--gradient-accumulation-steps', '2', '--steps', '3', '--save-every', '100'];

mpiTest(`mpirun -np 2 relpo train, SIGUSR1 to mpirun: every rank stops at the same step with a whole checkpoint; resuming gives the uninterrupted run${note}`, async (t) => {
  if (missing) return void t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-stop-'));
  try {
    // Small buckets (0.02 MB: several all-reduces); the uninterrupted run sums after backward, the
    // stopped and resumed one from backward's hook: the same bits either way.
    const args = [...ARGS, '--ddp-bucket-cap-mb', '0.02'];
    const full = await runUnderMpi(2, CLI, [...args, '--gradient-sum-starts', 'after', '--out', join(dir, 'full')], { timeoutMs: 240_000 });
    t.is(full.status, 0, shown(full));
    const out = join(dir, 'stopped');
    const run = await signalledAfterFirstStep(['mpirun'], [...args, '--out', out], out, 'SIGUSR1');
    // Both ranks finished the step, agreed to stop, finalized MPI and exited 128 + 10; none aborted.
    t.is(run.status, 138, shown(run));
    t.regex(run.stderr, /mpirun: Forwarding signal 10 to job/);
    t.notRegex(run.stderr, /MPI_Abort|failed/, shown(run));
    stoppedWhole(t, run, out);
    const resumed = await runUnderMpi(2, CLI, [...args, '--out', out, '--resume'], { timeoutMs: 240_000 });
    t.is(resumed.status, 0, shown(resumed));
    const rows = (p: string) => readFileSync(join(p, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).map((m) => [m.step, m.loss, m.grad_norm]);
    t.deepEqual(rows(out), rows(join(dir, 'full')));
    t.is(readFileSync(join(out, 'checkpoint', 'model.safetensors')).compare(readFileSync(join(dir, 'full', 'checkpoint', 'model.safetensors'))), 0, 'the same weights, bit for bit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

mpiTest(`scripts/mpirun-graceful.sh: Ctrl-C (SIGINT to the script) stops every rank after the step with a whole checkpoint${note}`, async (t) => {
  if (missing) return void t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-graceful-'));
  try {
    const out = join(dir, 'stopped');
    const run = await signalledAfterFirstStep(['bash', GRACEFUL], [...ARGS, '--out', out], out, 'SIGINT');
    t.is(run.status, 138, shown(run));
    t.regex(run.stderr, /mpirun-graceful: every rank stops after this step/);
    t.notRegex(run.stderr, /MPI_Abort|failed/, shown(run));
    stoppedWhole(t, run, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
