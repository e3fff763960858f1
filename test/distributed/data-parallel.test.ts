// The data-parallel trainer's pieces that need no second process: each rank's share of a step,
// the refusal of a share that does not divide, each rank's part of the eval batches, the JSON exchange and how the ranks' step numbers
// combine (the mpirun tests in trainer.test.ts check them end to end).
import test from 'ava';
import { singleProcessCommunicator, type Communicator } from '../../src/distributed/index.js';
import { allGatherJson, combineReports, partOf, shareOf, type ShareReport } from '../../src/train/data-parallel.js';

const rankOf = (rank: number, size: number): Communicator => ({ ...singleProcessCommunicator(), rank, size });

test('shareOf: rank r of N runs micro-batches [r·k/N, (r+1)·k/N); k not a multiple of N is refused, naming a k that works', (t) => {
  t.deepEqual([0, 1, 2, 3].map((r) => shareOf(rankOf(r, 4), 8)), [{ from: 0, to: 2 }, { from: 2, to: 4 }, { from: 4, to: 6 }, { from: 6, to: 8 }]);
  t.deepEqual(shareOf(singleProcessCommunicator(), 3), { from: 0, to: 3 });
  t.throws(() => shareOf(rankOf(0, 2), 3), { message: /2 ranks need gradientAccumulationSteps to be a multiple of 2.*got 3.*use gradientAccumulationSteps 4/ });
});

test('partOf: the ranks\' parts of n eval batches are contiguous, in rank order, cover all n for any n (a part may be empty)', (t) => {
  for (const size of [1, 2, 3, 4]) {
    for (const n of [0, 1, 2, 3, 5, 8]) {
      const parts = Array.from({ length: size }, (_, r) => partOf(rankOf(r, size), n));
      t.is(parts[0].from, 0);
      t.is(parts[size - 1].to, n);
      parts.forEach((p, r) => {
        t.true(p.to >= p.from && p.to - p.from <= Math.ceil(n / size), `${n} over ${size}: rank ${r} ${p.from}-${p.to}`);
        if (r > 0) t.is(p.from, parts[r - 1].to);
      });
    }
  }
  t.deepEqual([0, 1].map((r) => partOf(rankOf(r, 2), 3)), [{ from: 0, to: 1 }, { from: 1, to: 3 }]);
});

test('allGatherJson: a value survives the byte packing exactly (doubles, text, lengths not a multiple of 8)', (t) => {
  const comm = singleProcessCommunicator();
  for (const v of [{ x: 0.1 + 0.2, s: 'ünïcode ✓', a: [1e-310, -5e300, 2 ** 53 + 1] }, null, 'a', [] as number[]]) t.deepEqual(allGatherJson(comm, v), [v]);
});

test('combineReports: one pass per micro-batch sums the ranks\' loss, rows, tokens and metric sums (a metric some micro-batches lack is rescaled); two passes keep the shared loss', (t) => {
  // k = 4: rank 0 ran micro-batches 0-1, rank 1 ran 2-3; 'x' was reported by 3 of the 4.
  const a: ShareReport = { loss: 0.25, tokens: 10, lossRows: { chosen: 1, rejected: 1 }, metrics: {}, metricSums: { acc: { sum: 0.5, count: 2 }, x: { sum: 0.25, count: 1 } } };
  const b: ShareReport = { loss: 0.5, tokens: 7, lossRows: { chosen: 1, rejected: 1 }, metrics: {}, metricSums: { acc: { sum: 0.25, count: 2 }, x: { sum: 0.5, count: 2 } } };
  t.deepEqual(combineReports([a, b], 4, 3), { loss: 0.75, tokens: 17, gradNorm: 3, lossRows: { chosen: 2, rejected: 2 }, metrics: { acc: 0.75, x: 1 } });
  const shared = { loss: 0.6, lossRows: { chosen: 8, rejected: 8 }, metrics: { m: 2 } };
  t.deepEqual(combineReports([{ ...shared, tokens: 5 }, { ...shared, tokens: 6 }], 4, 1), { ...shared, tokens: 11, gradNorm: 1 });
});
