// Runs that survive misuse and kills: one run per output folder (a stale lock is taken over), the
// temporary folders of a killed save removed, a torn last metrics line dropped on resume, and a
// stop requested through an AbortSignal checkpointing a run that then resumes exactly.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { readPreferenceJsonl } from '../../src/data/index.js';
import { trainPreference, type StepMetrics } from '../../src/train/index.js';
import { LOCK_FILE } from '../../src/train/run-lock.js';
import { keptMetricLines } from '../../src/train/trainer.js';
import { tiny, tokenizer } from '../helpers/tiny-llama.js';

const RECORDS = [
  { prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' },
  { prompt: 'Water is', chosen: ' wet.', rejected: ' dry.' },
  { prompt: 'Fire is', chosen: ' hot.', rejected: ' cold.' },
  { prompt: 'Snow is', chosen: ' white.', rejected: ' black.' },
];
const data = async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'relpo-lock-data-')), 'prefs.jsonl');
  writeFileSync(path, RECORDS.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return readPreferenceJsonl(path);
};
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

async function params(m: r.LlamaForCausalLM): Promise<number[][]> {
  const out: number[][] = [];
  for (const p of m.parameters()) out.push(Array.from(await p.data()));
  return out;
}

test('a second run on a folder in use is refused, naming the PID; a stale lock (dead PID) and a killed save\'s temporary folder are cleaned up', async (t) => {
  const dataset = await data();
  const out = mkdtempSync(join(tmpdir(), 'relpo-lock-out-'));
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: sleeper.pid, started: 'earlier' }));
  const policy = tiny(), reference = tiny();
  const common = { policy, reference, tokenizer: await tokenizer(), dataset, loss: 'dpo', lr: 0.01, batchSize: 2, steps: 1, outDir: out } as const;
  await t.throwsAsync(trainPreference(common), { message: new RegExp(`is in use by another run \\(PID ${sleeper.pid}, since earlier\\)`) });
  sleeper.kill();
  await new Promise((res) => sleeper.once('exit', res));
  // The holder is gone: its lock is stale. A dead run's half-written checkpoint goes too; a live one's stays.
  const dead = `checkpoint.tmp-${deadPid()}`, live = `checkpoint.tmp-${process.ppid}`;
  for (const d of [dead, live]) mkdirSync(join(out, d, 'x'), { recursive: true });
  await trainPreference(common);
  t.false(existsSync(join(out, LOCK_FILE)), 'the lock is released at the end');
  t.false(existsSync(join(out, dead)));
  t.true(existsSync(join(out, live)));
  // A run that throws releases it too.
  await t.throwsAsync(trainPreference({ ...common, lr: NaN, steps: 2, resume: true }));
  t.false(existsSync(join(out, LOCK_FILE)));
  policy.dispose();
  reference.dispose();
});

test('resume drops a torn last line of metrics.jsonl; a bad line elsewhere is an error naming it', (t) => {
  const lines = ['{"step":1,"loss":0.6}', '{"step":2,"loss":0.5}', '{"step":3,"lo'].join('\n');
  t.deepEqual(keptMetricLines(lines, 2, 'm.jsonl'), ['{"step":1,"loss":0.6}', '{"step":2,"loss":0.5}']);
  t.throws(() => keptMetricLines(['{"step":1', '{"step":2}'].join('\n'), 2, 'runs/x/metrics.jsonl'), { message: /runs\/x\/metrics\.jsonl:1 is not a JSON line/ });
});

test('a run stopped through its AbortSignal checkpoints where it stopped and resumes to the uninterrupted run (float64 CPU, bitwise), torn metrics line and all', async (t) => {
  const dataset = await data();
  const common = { tokenizer: await tokenizer(), dataset, loss: 'rpo', lr: 0.02, batchSize: 2, gradientAccumulationSteps: 2, steps: 4, seed: 5 } as const;
  const refA = tiny(), a = tiny();
  const full = await trainPreference({ ...common, policy: a, reference: refA });
  const out = mkdtempSync(join(tmpdir(), 'relpo-stop-'));
  const stop = new AbortController();
  const refB = tiny(), b = tiny();
  const first = await trainPreference({ ...common, policy: b, reference: refB, outDir: out, signal: stop.signal, log: (m: StepMetrics) => void (m.step === 2 && stop.abort('SIGINT')) });
  t.true(first.stopped);
  t.is(first.steps, 2);
  t.is(JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')).step, 2);
  appendFileSync(join(out, 'metrics.jsonl'), '{"step":3,"loss":0.69');
  const b2 = tiny();
  const rest = await trainPreference({ ...common, policy: b2, reference: refB, outDir: out, resume: true });
  t.falsy(rest.stopped);
  t.deepEqual([...first.history, ...rest.history].map((m) => [m.step, m.loss, m.grad_norm]), full.history.map((m) => [m.step, m.loss, m.grad_norm]));
  t.deepEqual(await params(b2), await params(a));
  for (const m of [refA, a, refB, b, b2]) m.dispose();
});
