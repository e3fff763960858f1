// Running a script under mpirun from a test: whether MPI is here (mpirun and the built addon),
// and one launch with its exit status and output.
import test, { type ExecutionContext } from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mpiAddonPath } from '../../src/distributed/index.js';

/** Why mpirun cannot run here, or null when it can. */
export function mpirunMissing(): string | null {
  return spawnSync('mpirun', ['--version']).status === 0 ? null : 'no mpirun (sudo apt-get install openmpi-bin libopenmpi-dev build-essential)';
}

/** Why the MPI tests cannot run here (no mpirun, or the addon not built), or null when they can. */
export function mpiMissing(): string | null {
  return mpirunMissing() ?? (existsSync(mpiAddonPath()) ? null : `the MPI addon is not built (${mpiAddonPath()}; npm run build:mpi)`);
}

/** CI (RELPO_REQUIRE_MPI=1) fails the MPI tests when MPI is missing instead of skipping them. */
export const MPI_REQUIRED = process.env.RELPO_REQUIRE_MPI === '1';

/**
 * The gate every MPI test file opens with: `missing` (why MPI cannot run here, or null), `mpiTest`
 * (ava's serial test, or its skip when MPI is missing and not required) and `note` (the reason,
 * for the titles of skipped tests).
 */
export function mpiGate() {
  const missing = mpiMissing();
  return { missing, mpiTest: missing && !MPI_REQUIRED ? test.serial.skip : test.serial, note: missing ? ` (skipped: ${missing})` : '' };
}

export interface MpiRun {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** mpirun's arguments for `node script args…` on N ranks. */
export function mpirunArgv(ranks: number, script: string, args: string[]): string[] {
  // --allow-run-as-root: CI and this machine run as root; --oversubscribe: more ranks than cores.
  return ['--allow-run-as-root', '--oversubscribe', '-np', String(ranks), process.execPath, script, ...args];
}

/** `mpirun -np N node script args…`, ended after timeoutMs (a hang fails instead of waiting). */
export function runUnderMpi(ranks: number, script: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<MpiRun> {
  const argv = mpirunArgv(ranks, script, args);
  return new Promise((resolve) => {
    execFile('mpirun', argv, { env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      const failed = error as (Error & { code?: number | string; signal?: string }) | null;
      resolve({
        status: failed ? (typeof failed.code === 'number' ? failed.code : null) : 0,
        signal: failed?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

/**
 * `mpirun -np N script OUT_DIR` where each rank writes OUT_DIR/rank-R.json: every rank's result in
 * rank order, or null after failing the test (MPI missing under RELPO_REQUIRE_MPI=1, or the run).
 */
export async function rankResults<T>(t: ExecutionContext, ranks: number, script: string): Promise<T[] | null> {
  const missing = mpiMissing();
  if (missing) {
    t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
    return null;
  }
  const out = mkdtempSync(join(tmpdir(), 'relpo-mpi-'));
  try {
    const run = await runUnderMpi(ranks, script, [out]);
    if (run.status !== 0) {
      t.fail(`exit ${run.status} ${run.signal ?? ''}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
      return null;
    }
    return Array.from({ length: ranks }, (_, r) => JSON.parse(readFileSync(join(out, `rank-${r}.json`), 'utf8')) as T);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
