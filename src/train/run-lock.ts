// One run per output folder. trainPreference holds outDir/.relpo-train.lock (its PID and start time)
// while it runs: a second run on the folder is refused, naming the first one's PID, and a lock whose
// process is gone (killed) is stale and taken over. Checkpoint folders a killed run was writing
// (checkpoint.tmp-<pid> of a dead PID) are removed at start.
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = '.relpo-train.lock';

/** Whether a process with this PID exists (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function takeLock(dir: string): string {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${JSON.stringify({ pid: process.pid, started: new Date().toISOString() })}\n`);
      closeSync(fd);
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder: { pid?: number; started?: string } = {};
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder;
      } catch {
        // A torn lock file (killed while writing it) is stale.
      }
      if (holder.pid !== undefined && processAlive(holder.pid)) {
        throw new Error(
          `trainPreference: ${dir} is in use by another run (PID ${holder.pid}${holder.pid === process.pid ? ', this process' : ''}, since ${holder.started ?? '?'}); ` +
            `wait for it or stop it, or give this run another output folder (${path} holds the lock)`,
        );
      }
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new Error(`trainPreference: could not take the lock ${path}`);
}

/** checkpoint.tmp-<pid> folders (and checkpoint.link-<pid> links) of processes that no longer exist: what a kill during a save leaves. */
export function removeStaleTemporaries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^checkpoint\.(?:tmp|link)-(\d+)$/.exec(name);
    if (m && !processAlive(Number(m[1]))) {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}

/** Runs `fn` holding the lock of `dir` (no lock without a folder). */
export async function withRunLock<T>(dir: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!dir) return fn();
  const path = takeLock(dir);
  try {
    removeStaleTemporaries(dir);
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
