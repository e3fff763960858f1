// transformers' checkpoint layout: checkpoint-<step>/ folders, `checkpoint` linking the newest,
// saveTotalLimit keeping the newest (and the best by an eval metric), and runs saved in the old
// single-folder layout resuming; a save cut between its rename and its link finished on resume.
import test from 'ava';
import { cpSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPreferenceJsonl, splitTrainEval } from '../../src/data/index.js';
import { findCheckpoint, trainPreference } from '../../src/train/index.js';
import { tiny, tokenizer } from '../helpers/tiny-llama.js';

const RECORDS = ['The sky is', 'Water is', 'Fire is', 'Snow is', 'Grass is', 'Ice is'].map((prompt, i) => ({ prompt, chosen: ` good ${i}.`, rejected: ` bad ${i}.` }));
const data = async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'relpo-layout-data-')), 'prefs.jsonl');
  writeFileSync(path, RECORDS.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return readPreferenceJsonl(path);
};
const folders = (out: string) => readdirSync(out).filter((f) => /^checkpoint-\d+$/.test(f)).sort((a, b) => Number(a.slice(11)) - Number(b.slice(11)));

test('checkpoint-<step>/ per save, `checkpoint` linking the newest; saveTotalLimit keeps the newest and the best by eval_loss', async (t) => {
  const { train, eval: held } = splitTrainEval(await data(), 1 / 3, 0);
  const out = mkdtempSync(join(tmpdir(), 'relpo-layout-'));
  const policy = tiny(), reference = tiny(undefined, undefined, 2);
  const res = await trainPreference({
    policy, reference, tokenizer: await tokenizer(), dataset: train, evalDataset: held, evalSteps: 1, loss: 'dpo', lr: 0.05, batchSize: 2, steps: 5,
    outDir: out, saveEvery: 1, saveTotalLimit: 2, metricForBestModel: 'eval_loss',
  });
  t.true(lstatSync(join(out, 'checkpoint')).isSymbolicLink());
  t.is(readlinkSync(join(out, 'checkpoint')), 'checkpoint-5');
  const losses = res.evalHistory.map((m) => [m.step, m.eval_loss] as const);
  const bestStep = losses.reduce((b, x) => (x[1] < b[1] ? x : b))[0];
  const state = JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')) as { bestCheckpoint: string; bestMetric: number };
  t.is(state.bestCheckpoint, `checkpoint-${bestStep}`);
  t.is(state.bestMetric, Math.min(...losses.map((x) => x[1])));
  t.deepEqual(folders(out), [...new Set([`checkpoint-${bestStep}`, 'checkpoint-4', 'checkpoint-5'])].sort());
  t.is(await findCheckpoint(out), join(out, 'checkpoint-5'));
  await t.throwsAsync(trainPreference({ policy, reference, tokenizer: await tokenizer(), dataset: train, loss: 'dpo', lr: 0.05, batchSize: 2, steps: 1, saveTotalLimit: 0 }), {
    message: /saveTotalLimit must be a positive integer, got 0/,
  });
  policy.dispose();
  reference.dispose();
});

test('a run saved in the single-folder layout (checkpoint/ a folder) resumes, and its folder becomes checkpoint-<step>', async (t) => {
  const dataset = await data();
  const common = { tokenizer: await tokenizer(), dataset, loss: 'dpo', lr: 0.05, batchSize: 2, saveEvery: 1 } as const;
  const out = mkdtempSync(join(tmpdir(), 'relpo-legacy-'));
  const policy = tiny(), reference = tiny(undefined, undefined, 2);
  await trainPreference({ ...common, policy, reference, steps: 2, outDir: out });
  // The old layout: one checkpoint/ folder (step 2), nothing else.
  rmSync(join(out, 'checkpoint'));
  cpSync(join(out, 'checkpoint-2'), join(out, 'checkpoint'), { recursive: true });
  for (const f of folders(out)) rmSync(join(out, f), { recursive: true });
  t.is(await findCheckpoint(out), join(out, 'checkpoint'));
  const res = await trainPreference({ ...common, policy, reference, steps: 3, outDir: out, resume: true });
  t.deepEqual(res.history.map((m) => m.step), [3]);
  t.deepEqual(folders(out), ['checkpoint-2', 'checkpoint-3']);
  t.is(readlinkSync(join(out, 'checkpoint')), 'checkpoint-3');
  policy.dispose();
  reference.dispose();
});

test('a save cut between its rename and its link (checkpoint still naming the step before) is finished when the run resumes, even with no step left', async (t) => {
  const dataset = await data();
  const common = { tokenizer: await tokenizer(), dataset, loss: 'dpo', lr: 0.05, batchSize: 2, saveEvery: 1, saveTotalLimit: 2 } as const;
  const out = mkdtempSync(join(tmpdir(), 'relpo-cut-save-'));
  const policy = tiny(), reference = tiny(undefined, undefined, 2);
  await trainPreference({ ...common, policy, reference, steps: 2, outDir: out });
  // What a kill after checkpoint-2/ was renamed into place leaves: the link still at checkpoint-1, nothing pruned yet.
  rmSync(join(out, 'checkpoint'));
  symlinkSync('checkpoint-1', join(out, 'checkpoint'), 'dir');
  const res = await trainPreference({ ...common, policy, reference, steps: 2, outDir: out, resume: true });
  t.deepEqual(res.history, [], 'no step left to take');
  t.is(readlinkSync(join(out, 'checkpoint')), 'checkpoint-2');
  t.deepEqual(folders(out), ['checkpoint-1', 'checkpoint-2']);
  policy.dispose();
  reference.dispose();
});
