import test from 'ava';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { cpu } from '../helpers/devices.js';

test.after.always(async () => {
  await r.shutdown();
});

/** Two arms, a few steps, a small task: seconds. */
const TINY = r.resolveExperimentConfig({
  name: 'tiny',
  tasks: [{ kind: 'signal', train_prompts: 32, eval_prompts: 8 }],
  model: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16 },
  sft: { steps: 6, lr: 3e-3, batch_size: 8 },
  train: { steps: 3, lr: 1e-3, optimizer: 'rmsprop', batch_size: 4, beta: 0.1 },
  eval: { max_new_tokens: 4, kl_samples: 2 },
  seeds: [0],
  baseline: 'dpo',
  arms: [{ name: 'dpo', loss: 'dpo' }, { name: 'rpo-unpaired', loss: 'rpo', unpaired: true, config: { tau: 0.75 } }],
});

const out = () => mkdtempSync(join(tmpdir(), 'relpo-experiment-'));
const read = (dir: string, ...path: string[]) => readFileSync(join(dir, ...path), 'utf8');
const armFiles = (dir: string, arm: string) => ['result.json', 'completions.jsonl', 'verdicts.jsonl'].map((f) => join(dir, 'signal', arm, 'seed-0', f));
/** A JSONL file's records sorted by id. */
const byId = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: number }).sort((x, y) => x.id - y.id);
/** results.json without the wall times (the one thing that differs between runs). */
const results = (dir: string) => (JSON.parse(read(dir, 'results.json')) as { rows: Record<string, unknown>[] }).rows.map(({ trainSeconds: _, ...row }) => row);

test.serial('the runner: arms share the SFT start and data order, reproduce exactly, resume at the next unfinished arm, and the table is what the verdict files say', async (t) => {
  const a = out();
  const report = await r.runExperiment(TINY, { outDir: a, device: cpu });
  const [dpo, rpo] = ['dpo', 'rpo-unpaired'].map((arm) => JSON.parse(read(a, 'signal', arm, 'seed-0', 'result.json')) as r.ArmResult);
  t.is(dpo.start, rpo.start, 'one SFT checkpoint for every arm');
  t.true(dpo.start.startsWith(join(a, 'signal', 'sft-run')));
  t.deepEqual([dpo.steps, rpo.steps], [3, 3]);
  // Every arm ran from its own ordinary relpo run folder.
  t.is(JSON.parse(read(a, 'signal', 'dpo', 'seed-0', 'run', 'checkpoint', 'trainer_state.json')).step, 3);

  // The table's numbers are the verdict files': recomputed here.
  for (const row of report.rows) {
    const verdicts = read(a, 'signal', row.arm, 'seed-0', 'verdicts.jsonl').trim().split('\n').map((l) => JSON.parse(l).verdict as r.Verdict);
    t.deepEqual(row.vsReference, r.winRate(verdicts), `${row.arm} vs reference`);
    t.is(verdicts.length, 8);
    if (row.arm !== 'dpo') {
      const pairwise = read(a, 'signal', row.arm, 'seed-0', 'pairwise-dpo.jsonl').trim().split('\n').map((l) => JSON.parse(l).verdict as r.Verdict);
      t.deepEqual(row.vsBaseline, r.winRate(pairwise));
    }
  }
  t.regex(read(a, 'results.md'), /\| rpo-unpaired \| \d+\.\d \[/);
  t.regex(read(a, 'win-rates.svg'), /^<svg/);
  t.regex(read(a, 'curves.svg'), /<polyline/);

  // The same config and seed: the same numbers, completions and verdicts.
  const b = out();
  await r.runExperiment(TINY, { outDir: b, device: cpu });
  t.deepEqual(results(b), results(a));
  for (const arm of ['dpo', 'rpo-unpaired']) {
    const [fa, fb] = [armFiles(a, arm), armFiles(b, arm)];
    // Completions and verdicts (written in the order they finish: compared by id).
    for (const k of [1, 2]) t.deepEqual(byId(fb[k]), byId(fa[k]), fb[k]);
  }

  // Stopped once the second arm has started: the first arm is kept, the second resumes, the end is the same.
  const c = out();
  const stop = new AbortController();
  await t.throwsAsync(r.runExperiment(TINY, { outDir: c, device: cpu, signal: stop.signal, log: (line) => { if (line.includes('rpo-unpaired')) stop.abort(); } }), { message: /stopped/ });
  const firstArm = join(c, 'signal', 'dpo', 'seed-0', 'result.json');
  const before = statSync(firstArm).mtimeMs;
  t.throws(() => statSync(join(c, 'signal', 'rpo-unpaired', 'seed-0', 'result.json')), undefined, 'the second arm did not finish');
  const lines: string[] = [];
  await r.runExperiment(TINY, { outDir: c, device: cpu, log: (line) => lines.push(line) });
  t.is(statSync(firstArm).mtimeMs, before, 'the finished arm was not run again');
  t.false(lines.some((l) => l.includes('dpo, seed')), lines.join('; '));
  t.true(lines.some((l) => l.includes('rpo-unpaired, seed 0')));
  t.deepEqual(results(c), results(a));

  // Another config into the same folder is refused, naming what differs.
  await t.throwsAsync(r.runExperiment({ ...TINY, train: { ...TINY.train, steps: 4 } }, { outDir: a, device: cpu }), { message: /holds another experiment .*train\.steps was 3, now 4/ });
});

test('the unpaired view keeps the paired order: each pair as its chosen row then its rejected row', async (t) => {
  const dir = out();
  const task = r.syntheticTask({ kind: 'signal', trainPrompts: 6, evalPrompts: 1 });
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'train.jsonl'), task.train.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const train = (await r.readPreferenceJsonl(join(dir, 'train.jsonl'))) as r.PairedPreferenceDataset;
  const { paired, unpaired } = r.dataViews(train, 4);
  t.notDeepEqual(paired.records.map((x) => x.line), train.records.map((x) => x.line), 'shuffled by the seed');
  t.deepEqual(r.dataViews(train, 4).paired.records, paired.records, 'the same seed, the same order');
  t.deepEqual(unpaired.records.map((x) => [x.line, x.label, x.completion]), paired.records.flatMap((x) => [[x.line, true, x.chosen], [x.line, false, x.rejected]]));
});
