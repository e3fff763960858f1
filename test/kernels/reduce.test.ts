import test from 'ava';
import * as r from '../../src/index.js';
import { assertClose, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';
import { argmaxOf } from '../../src/kernels/reduce/contract.js';

const CASES: [number[], number | number[] | undefined][] = [
  [[1], 0], [[7], 0], [[3, 5], 1], [[3, 5], 0], [[2, 3, 17], 1], [[2, 3, 17], -1], [[2, 3, 17], [0, 2]],
  [[4, 1, 3], undefined], [[1000], 0], [[5, 300], 1], [[300, 5], 0],
  // Few outputs down a long axis (the split-column kernel): a weight gradient summed over tokens,
  // uneven slices and a partial column tile, a middle axis, and an axis too short to split.
  [[1024, 576], 0], [[1000, 37], 0], [[3, 700, 40], 1], [[2, 65, 3], 1], [[5000, 7], 0],
];

for (const op of ['sum', 'mean', 'max', 'min'] as const) {
  test(`${op}: webgpu matches the cpu reference over awkward shapes and axes`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    for (const [k, [shape, axis]] of CASES.entries()) {
      const v = randomValues(shape.reduce((a, b) => a * b, 1), 100 + k, -2, 2);
      for (const keep of [false, true]) {
        const want = r[op](r.tensor(v, shape, { device: cpu, dtype: 'float64' }), axis, keep);
        const got = r[op](r.tensor(v, shape, { device: gpu }), axis, keep);
        t.deepEqual(got.shape, want.shape, `${op} [${shape}] axis ${axis}`);
        assertClose(t, await values(got), await values(want), { rtol: 1e-5, atol: 1e-5 }, `${op} [${shape}] axis ${axis}`);
      }
    }
  });
  test(`${op}: gradcheck`, async (t) => {
    // Distinct values so max/min are differentiable at the test point.
    const x = r.tensor(randomValues(24, 9, -3, 3), [2, 3, 4], { device: cpu, dtype: 'float64', requiresGrad: true });
    for (const axis of [0, 1, 2, [0, 2], undefined]) {
      const res = await r.gradcheck((a) => r[op](a, axis), [x]);
      t.true(res.ok, `axis ${axis}: ${JSON.stringify(res)}`);
    }
  });
}

test('the split-column plan: slices cover the axis once, at least 64 rows each, and only where the grid is small', async (t) => {
  const { splitColumnPlan } = await import('../../src/kernels/reduce/webgpu.js');
  for (const [outer, len, inner] of [[1, 1024, 576], [1, 1000, 37], [3, 700, 40], [2, 65, 3], [1, 5000, 7], [1, 8192, 2048], [1, 63, 5]]) {
    const { S, chunk } = splitColumnPlan(outer, len, inner);
    const what = `[${outer}, ${len}, ${inner}]`;
    t.true((S - 1) * chunk < len && S * chunk >= len, `${what}: ${S} slices of ${chunk}`);
    if (S > 1) t.true(chunk >= 64, `${what}: slice ${chunk}`);
  }
  t.is(splitColumnPlan(1, 1024, 576).S, 16, '18 tiles: 16 slices of 64');
  t.is(splitColumnPlan(1, 8192, 2048).S, 8, '64 tiles: 8 slices');
  t.is(splitColumnPlan(1, 63, 5).S, 1, 'too short to split');
});

test('sum of int32 stays int32 on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([1, 2, 3, 4, 5, 6], [2, 3], { device, dtype: 'int32' });
    const s = r.sum(x, 1);
    t.is(s.dtype, 'int32');
    t.deepEqual(await values(s), [6, 15]);
    t.deepEqual(await values(r.max(x, 0)), [4, 5, 6]);
    // Down a long axis (split into slices, then the slices combined), exact in int32.
    const n = 3000, cols = 5;
    const y = r.tensor(Array.from({ length: n * cols }, (_, i) => (i % 7) - 3), [n, cols], { device, dtype: 'int32' });
    const want = Array.from({ length: cols }, (_, c) => Array.from({ length: n }, (_, k) => ((k * cols + c) % 7) - 3).reduce((a, b) => a + b, 0));
    t.deepEqual(await values(r.sum(y, 0)), want);
    t.deepEqual(await values(r.min(y, 0)), new Array(cols).fill(-3));
  }
});

test('max gives tied maxima an equal share of the gradient (torch.amax)', async (t) => {
  const x = r.tensor([1, 3, 3, 2], [4], { device: cpu, requiresGrad: true });
  r.tidy(() => r.max(x).backward());
  t.deepEqual(await values(x.grad!), [0, 0.5, 0.5, 0]);
});

test('a large sum on webgpu is accurate (tree reduction)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const n = 1 << 20;
  const v = randomValues(n, 4, 0, 1);
  const want = v.reduce((a, b) => a + b, 0);
  const got = await r.sum(r.tensor(v, [n], { device: gpu })).item();
  t.true(Math.abs(got - want) / want < 1e-5, `got ${got}, expected ${want}`);
});

test('reductions over an empty axis: sum is 0, max is an error', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    t.deepEqual(await values(r.sum(r.zeros([3, 0], { device }), 1)), [0, 0, 0]);
    t.throws(() => r.max(r.zeros([3, 0], { device }), 1), { message: /empty axis/ });
  }
});

test.after.always(async () => {
  await r.shutdown();
});

test('argmax along the last axis: the first largest value, NaN ranking lowest, the same on both devices and as the host\'s greedy pick', async (t) => {
  const gpu = await gpuOrSkip(t);
  const rows: number[][] = [
    [3, 1, 3, 2], // a tie: the first
    [NaN, 5, 7, NaN, 7], // NaN first and between: skipped
    [NaN, NaN, NaN], // all NaN: 0
    [-0, 0, -1], // -0 and +0 tie: the first
    [-Infinity, -Infinity], // all -Inf: 0
    [1, Infinity, Infinity, 2],
    [42], // one element
  ];
  const want = [0, 2, 0, 0, 0, 1, 0];
  // Long rows (more elements than threads): the maximum early, late, tied across threads' strides.
  const u = randomValues(3 * 1000, 9);
  for (const [k, at] of [[0, 3], [1, 999], [2, 257]]) {
    const row = u.slice(k * 1000, (k + 1) * 1000);
    row[at] = 5;
    if (k === 2) row[513] = 5; // the same maximum later in another thread's stride
    rows.push(row);
    want.push(at);
  }
  t.deepEqual(rows.map((row) => argmaxOf(row)), want, 'the host order');
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    for (const [i, row] of rows.entries()) {
      const x = r.tensor(row, [1, row.length], { device });
      t.deepEqual(Array.from(await values(r.argmax(x))), [want[i]], `${device.kind} row ${i}`);
    }
    // A batch of rows of one length, [2, 3, 1000] → int32 [2, 3].
    const batch = r.tensor(Array.from({ length: 6 }, (_, i) => rows[7 + (i % 3)]).flat(), [2, 3, 1000], { device });
    const got = r.argmax(batch);
    t.deepEqual([got.dtype, ...got.shape], ['int32', 2, 3]);
    t.deepEqual(Array.from(await values(got)), [3, 999, 257, 3, 999, 257], `${device.kind} batch`);
  }
  t.throws(() => r.argmax(r.tensor(Int32Array.from([1, 2]), [2], { device: cpu, dtype: 'int32' })), { message: /must be float/ });
});
