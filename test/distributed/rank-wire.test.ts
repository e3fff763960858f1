// The binary exchange between ranks, without a second process: numbers, arrays and text survive
// the words bit for bit (NaN, ±Infinity, −0, any length); a step's RowScalars (variable-width
// prompt embeddings, absent fields, an empty side) too; a rank whose pass-1 rows failed sends its
// message in their place and every other rank throws naming it (a stand-in communicator plays
// rank 1's part of the gather; the mpirun tests in trainer.test.ts check it end to end).
import test from 'ava';
import { singleProcessCommunicator, type Communicator } from '../../src/distributed/index.js';
import { gatherRowsAcrossRanks } from '../../src/train/data-parallel.js';
import { WireReader, WireWriter, allGatherWire } from '../../src/train/rank-wire.js';
import { type RowScalars, gatherStepRows, readRowScalars, writeRowScalars } from '../../src/train/step-rows.js';

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));

test('WireWriter/WireReader: numbers, arrays (absent, empty, long) and text of any byte length come back exactly', (t) => {
  const specials = [NaN, Infinity, -Infinity, -0, 0.1 + 0.2, 5e-324, 2 ** 53 + 2];
  const long = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e5);
  const texts = ['', 'a', 'ünïcode ✓', 'x'.repeat(8), 'y'.repeat(9)];
  const w = new WireWriter();
  for (const x of specials) w.number(x);
  w.numbers(undefined).numbers([]).numbers(long).numbers(specials);
  for (const s of texts) w.text(s);
  const words = w.finish();
  const r = new WireReader(words);
  t.true(same(specials.map(() => r.number()), specials));
  t.is(r.numbers(), undefined);
  t.is(r.numbers()!.length, 0);
  t.true(same(r.numbers()!, long));
  t.true(same(r.numbers()!, specials));
  t.deepEqual(texts.map(() => r.text()), texts);
  t.true(r.done);
  t.throws(() => r.number(), { message: /1 word\(s\) asked at word \d+, but the part ends/ });
});

function rowsOf(dim: number, rows: number, extra = 0): RowScalars {
  const v = (n: number, at: number) => Float64Array.from({ length: n }, (_, i) => (at + i) / 7 - extra);
  return {
    paired: true, embeddingDim: dim,
    chosen: { promptIds: Array.from({ length: rows }, (_, i) => i + extra), policyLogps: v(rows, 1), refLogps: Float64Array.of(...v(rows - 1, 2), NaN), promptEmbeddings: v(rows * dim, 3), fullLogps: v(rows, 4), fullTokenCounts: v(rows, 5) },
    rejected: { promptIds: Array.from({ length: rows }, (_, i) => i + extra), policyLogps: Float64Array.of(...v(rows - 1, 6), -0), refLogps: v(rows, 7), promptEmbeddings: v(rows * dim, 8) },
  };
}

function sameRows(t: import('ava').ExecutionContext, got: RowScalars, want: RowScalars): void {
  t.is(got.paired, want.paired);
  t.is(got.embeddingDim, want.embeddingDim);
  for (const s of ['chosen', 'rejected'] as const) {
    t.deepEqual(Object.keys(got[s]).sort(), Object.keys(want[s]).sort(), s);
    t.deepEqual(got[s].promptIds, want[s].promptIds);
    for (const [f, v] of Object.entries(want[s])) if (f !== 'promptIds') t.true(same(got[s][f as 'policyLogps']!, v as Float64Array), `${s}.${f}`);
  }
}

test('writeRowScalars/readRowScalars: a step\'s rows come back exactly (embeddings of any width, NaN and −0, absent fields, no embeddings, an empty side)', (t) => {
  const unpaired: RowScalars = { paired: false, chosen: { promptIds: [3], policyLogps: Float64Array.of(-1.5), tokenCounts: Float64Array.of(4) }, rejected: { promptIds: [], policyLogps: new Float64Array(0), tokenCounts: new Float64Array(0) } };
  for (const rows of [rowsOf(5, 3), rowsOf(384, 16), unpaired]) {
    const w = new WireWriter();
    writeRowScalars(w, rows);
    const r = new WireReader(w.finish());
    sameRows(t, readRowScalars(r), rows);
    t.true(r.done);
  }
});

/** Rank 0 of 2 whose gathers get `other` as rank 1's part. */
function withRankOne(other: Float64Array): Communicator {
  return {
    ...singleProcessCommunicator(), size: 2,
    allGatherRows: (rows) => {
      const data = new Float64Array(rows.length + other.length);
      data.set(rows);
      data.set(other, rows.length);
      return { data, counts: [rows.length, other.length] };
    },
  };
}

test('gatherRowsAcrossRanks: both ranks\' rows in rank order, as gatherStepRows lays them out; a rank that failed before the gather makes this one throw, naming it', async (t) => {
  const mine = rowsOf(5, 2), theirs = rowsOf(5, 3, 10);
  const w = new WireWriter().number(0);
  writeRowScalars(w, theirs);
  sameRows(t, await gatherRowsAcrossRanks(withRankOne(w.finish()), async () => mine, 'in step 4'), gatherStepRows([mine, theirs]));
  const failed = new WireWriter().number(1).text('trainPreference: step 4 (…): chosen.refLogps[0] is NaN (pass 1)').finish();
  await t.throwsAsync(gatherRowsAcrossRanks(withRankOne(failed), async () => mine, 'in step 4'), {
    message: 'trainPreference: rank 1 of 2 failed in step 4: trainPreference: step 4 (…): chosen.refLogps[0] is NaN (pass 1)',
  });
  // The failing rank throws its own error, after taking its part in the gather.
  let gathered = false;
  const own = withRankOne(w.finish());
  await t.throwsAsync(gatherRowsAcrossRanks({ ...own, allGatherRows: (rows) => ((gathered = true), own.allGatherRows(rows)) }, async () => { throw new Error('mine failed'); }, 'in step 4'), { message: 'mine failed' });
  t.true(gathered, 'the failing rank still took part in the gather');
});

test('allGatherWire: a part not read to its end is an error naming the rank', (t) => {
  t.throws(() => allGatherWire(withRankOne(Float64Array.of(1, 2)), (w) => w.number(1), (r) => r.number()), { message: /rank 1's part was not read to its end/ });
});
