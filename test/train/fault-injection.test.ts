// Kill -9 at seeded points of a run that saves every step (inside a step, after its metrics line,
// between a save's writes and between its renames), then resume: the final weights and
// metrics.jsonl (all but tokens/s) equal an uninterrupted run's, bit for bit on the CPU device, and
// no temporary folder or lock is left behind.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../src/autograd/random.js';

const RUN = fileURLToPath(new URL('../helpers/fault-run.js', import.meta.url));
const run = (out: string, killAt?: number) => spawnSync(process.execPath, [RUN, out, ...(killAt ? [String(killAt)] : [])], { encoding: 'utf8', timeout: 120_000 });

const metrics = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const m = JSON.parse(l) as Record<string, number>;
    delete m['tokens/s'];
    return m;
  });

test('kill -9 at 20 seeded fault points, then resume: the uninterrupted run\'s weights and metrics, nothing left behind', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'relpo-faults-'));
  const reference = join(root, 'reference');
  mkdirSync(reference);
  const whole = run(reference);
  t.is(whole.status, 0, whole.stderr);
  const points = Number(whole.stdout.trim());
  t.true(points >= 20, `${points} fault points in a run`);
  const weights = readFileSync(join(reference, 'checkpoint', 'model.safetensors'));
  const want = metrics(reference);
  // 20 distinct kill points, seeded, over every point of the run.
  const rand = mulberry32(2026);
  const picks = new Set<number>();
  while (picks.size < Math.min(20, points)) picks.add(1 + Math.floor(rand() * points));
  for (const k of [...picks].sort((a, b) => a - b)) {
    const out = join(root, `kill-${k}`);
    mkdirSync(out);
    const killed = run(out, k);
    t.is(killed.signal, 'SIGKILL', `point ${k}: killed (${killed.stderr.slice(-200)})`);
    const resumed = run(out);
    t.is(resumed.status, 0, `point ${k}: resume: ${resumed.stderr.slice(-400)}`);
    t.true(readFileSync(join(out, 'checkpoint', 'model.safetensors')).equals(weights), `point ${k}: the final weights, bit for bit`);
    t.deepEqual(metrics(out), want, `point ${k}: metrics.jsonl`);
    t.deepEqual(readdirSync(out).filter((f) => !/^(metrics\.jsonl|checkpoint|checkpoint-\d+)$/.test(f)), [], `point ${k}: nothing else left (temporary folders and links, the lock)`);
    t.deepEqual(readdirSync(out).filter((f) => /^checkpoint-\d+$/.test(f)).sort(), ['checkpoint-1', 'checkpoint-2', 'checkpoint-3', 'checkpoint-4'], `point ${k}: every step's checkpoint`);
  }
});
