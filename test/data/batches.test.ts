// Index batches (determinism, coverage, unpaired stratification) and train/eval splits.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planPreferenceBatches, preferenceBatches, readPreferenceJsonl, splitTrainEval, type PreferenceDataset } from '../../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'relpo-batches-'));
let counter = 0;
async function dataset(lines: object[]): Promise<PreferenceDataset> {
  const path = join(dir, `b${counter++}.jsonl`);
  writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n'));
  return readPreferenceJsonl(path);
}
const pairedN = (n: number, prompts = n) =>
  dataset(Array.from({ length: n }, (_, i) => ({ prompt: `p${i % prompts}`, chosen: `c${i}`, rejected: `r${i}` })));
const unpairedN = (n: number, isGood: (i: number) => boolean, prompts = n) =>
  dataset(Array.from({ length: n }, (_, i) => ({ prompt: `p${i % prompts}`, completion: `c${i}`, label: isGood(i) })));

test('paired: every index exactly once per epoch, sizes, deterministic for a seed', async (t) => {
  const ds = await pairedN(23, 7);
  for (const batchSize of [1, 4, 5, 23, 30]) {
    const batches = [...preferenceBatches(ds, { batchSize, seed: 3 })];
    t.is(batches.length, Math.ceil(23 / batchSize));
    const all = batches.flatMap((b) => b.indices).sort((x, y) => x - y);
    t.deepEqual(all, Array.from({ length: 23 }, (_, i) => i));
    for (const b of batches) {
      t.true(b.paired);
      t.is(b.m, b.indices.length);
      t.is(b.n, b.indices.length);
      t.deepEqual(b.chosen, b.indices);
      t.deepEqual(b.chosenPromptIds, b.indices.map((i) => ds.promptIds[i]));
    }
  }
  const a = planPreferenceBatches(ds, { batchSize: 4, seed: 3 });
  t.deepEqual(a, planPreferenceBatches(ds, { batchSize: 4, seed: 3 }));
  t.notDeepEqual(a.map((b) => b.indices), planPreferenceBatches(ds, { batchSize: 4, seed: 4 }).map((b) => b.indices));
  t.notDeepEqual(a.map((b) => b.indices), planPreferenceBatches(ds, { batchSize: 4, seed: 3, epoch: 1 }).map((b) => b.indices));
  t.deepEqual(planPreferenceBatches(ds, { batchSize: 10, shuffle: false }).map((b) => b.indices[0]), [0, 10, 20]);
});

test('paired: dropLast drops only the short batch', async (t) => {
  const ds = await pairedN(23);
  const batches = planPreferenceBatches(ds, { batchSize: 5, dropLast: true, seed: 1 });
  t.is(batches.length, 4);
  t.true(batches.every((b) => b.m === 5));
  t.is(new Set(batches.flatMap((b) => b.indices)).size, 20);
  t.is(planPreferenceBatches(ds, { batchSize: 30, dropLast: true }).length, 0);
  t.throws(() => planPreferenceBatches(ds, { batchSize: 0 }), { message: /batchSize must be a positive integer/ });
});

test('unpaired: batches hold both sides in proportion, cover every row once, report M and N', async (t) => {
  const ds = await unpairedN(37, (i) => i % 3 !== 0, 5); // 24 desirable, 13 undesirable
  if (ds.paired) return t.fail();
  for (const batchSize of [3, 4, 8, 37]) {
    const batches = planPreferenceBatches(ds, { batchSize, seed: 9 });
    const all = batches.flatMap((b) => b.indices).sort((x, y) => x - y);
    t.deepEqual(all, Array.from({ length: 37 }, (_, i) => i), `coverage at batchSize ${batchSize}`);
    for (const b of batches) {
      t.false(b.paired);
      t.true(b.m > 0 && b.n > 0, `both sides at batchSize ${batchSize}`);
      t.is(b.m, b.chosen.length);
      t.is(b.n, b.rejected.length);
      t.true(b.chosen.every((i) => ds.records[i].label));
      t.true(b.rejected.every((i) => !ds.records[i].label));
      t.deepEqual(b.indices, [...b.chosen, ...b.rejected]);
      t.deepEqual(b.rejectedPromptIds, b.rejected.map((i) => ds.promptIds[i]));
    }
    // Full batches: at least floor(s*D/T) desirable rows.
    for (const b of batches.slice(0, -1)) t.true(b.m >= Math.floor((b.indices.length * 24) / 37));
  }
  t.deepEqual(planPreferenceBatches(ds, { batchSize: 4, seed: 9 }), planPreferenceBatches(ds, { batchSize: 4, seed: 9 }));
});

test('unpaired: a short last batch lacking one side is merged; impossible ratios and one-sided data throw', async (t) => {
  const ds = await unpairedN(9, (i) => i % 2 === 0); // 5 good, 4 bad
  const batches = planPreferenceBatches(ds, { batchSize: 4, seed: 2 });
  // 4 + 4 + 1: the last row alone cannot hold both sides, so it joins batch 1.
  t.deepEqual(batches.map((b) => b.indices.length), [4, 5]);
  t.is(new Set(batches.flatMap((b) => b.indices)).size, 9);
  const dropped = planPreferenceBatches(ds, { batchSize: 4, dropLast: true, seed: 2 });
  t.deepEqual(dropped.map((b) => [b.m, b.n]), [[2, 2], [2, 2]]);
  const skewed = await unpairedN(20, (i) => i !== 0); // 19 good, 1 bad
  t.throws(() => planPreferenceBatches(skewed, { batchSize: 4 }), { message: /batch 1 of .* would have no undesirable rows .*batchSize ≥ 20/ });
  t.is(planPreferenceBatches(skewed, { batchSize: 20 }).length, 1);
  const allGood = await unpairedN(4, () => true);
  t.throws(() => planPreferenceBatches(allGood, { batchSize: 2 }), { message: /no undesirable \(label false\) rows/ });
});

test('unpaired, oneSided: one-sided micro-batches are kept, and k consecutive ones of b hold the rows of one batch of k·b', async (t) => {
  const skewed = await unpairedN(20, (i) => i % 5 !== 0); // 16 good, 4 bad
  for (const seed of [0, 3]) {
    const small = planPreferenceBatches(skewed, { batchSize: 2, seed, oneSided: true });
    t.true(small.some((b) => b.n === 0), 'some micro-batch of 2 holds no undesirable row');
    t.throws(() => planPreferenceBatches(skewed, { batchSize: 2, seed }), { message: /would have no undesirable rows/ });
    const big = planPreferenceBatches(skewed, { batchSize: 10, seed });
    for (const [s, step] of big.entries()) {
      const part = small.slice(5 * s, 5 * s + 5);
      t.deepEqual(part.flatMap((b) => b.chosen), step.chosen, `seed ${seed}, step ${s}: desirable rows`);
      t.deepEqual(part.flatMap((b) => b.rejected), step.rejected, `seed ${seed}, step ${s}: undesirable rows`);
    }
  }
});

test('splitTrainEval: exact sizes per record, grouped by prompt by default, deterministic', async (t) => {
  const ds = await pairedN(50, 50);
  const { train, eval: ev } = splitTrainEval(ds, 0.2, 1, { groupByPrompt: false });
  t.is(ev.records.length, 10);
  t.is(train.records.length, 40);
  const lines = [...train.records, ...ev.records].map((r) => r.line).sort((x, y) => x - y);
  t.deepEqual(lines, Array.from({ length: 50 }, (_, i) => i + 1));
  t.deepEqual(ev.records.map((r) => r.line), [...ev.records.map((r) => r.line)].sort((x, y) => x - y), 'file order kept');
  t.deepEqual(splitTrainEval(ds, 0.2, 1, { groupByPrompt: false }).eval.records, ev.records);
  t.notDeepEqual(splitTrainEval(ds, 0.2, 2, { groupByPrompt: false }).eval.records, ev.records);
  t.is(splitTrainEval(ds, 0, 1).eval.records.length, 0);
  t.is(splitTrainEval(ds, 0.001, 1).eval.records.length, 1);
  t.throws(() => splitTrainEval(ds, 1, 1), { message: /evalFraction must be in \[0, 1\)/ });

  const grouped = await pairedN(40, 8); // 8 prompts x 5 records
  const g = splitTrainEval(grouped, 0.25, 5);
  t.is(g.eval.records.length, 10); // two whole groups
  t.is(g.train.records.length, 30);
  const evalPrompts = new Set(g.eval.promptIds);
  t.true(g.train.promptIds.every((p) => !evalPrompts.has(p)), 'no prompt on both sides');
  t.deepEqual(g.eval.promptIds, g.eval.records.map((r) => r.promptId));
  t.is(g.eval.prompts, grouped.prompts);
  const onePrompt = await pairedN(6, 1);
  const o = splitTrainEval(onePrompt, 0.5, 0);
  t.is(o.train.records.length, 6, 'a single prompt group never goes wholly to eval');
});
