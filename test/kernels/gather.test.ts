import test from 'ava';
import * as r from '../../src/index.js';
import type { Device } from '../../src/index.js';
import { assertClose, cpu, gpuOrSkip, randomValues, rng, values } from '../helpers/devices.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** n int32 indices uniform in [0, hi). */
function randomIndices(n: number, hi: number, seed: number): number[] {
  const g = rng(seed);
  return Array.from({ length: n }, () => Math.floor(g() * hi));
}

const ints = (v: number[], shape: number[], device: Device) => r.tensor(v, shape, { device, dtype: 'int32' });
const f64 = (v: number[], shape: number[], requiresGrad = false) => r.tensor(v, shape, { device: cpu, dtype: 'float64', requiresGrad });

// --- gather ---

/** [x shape, axis, index shape]: every axis, index smaller than x off the axis, length 1, empty. */
const GATHER_CASES: [number[], number, number[]][] = [
  [[3, 5, 7], 0, [2, 5, 4]],
  [[3, 5, 7], 1, [3, 9, 7]],
  [[3, 5, 7], 2, [1, 4, 13]],
  [[3, 5, 7], -1, [3, 5, 1]],
  [[1], 0, [1]],
  [[17], 0, [40]],
  [[4, 1000], 1, [4, 301]],
  [[2, 3, 1, 5], 2, [2, 2, 3, 5]],
  [[0, 3], 1, [0, 3]],
  [[5, 3], 0, [5, 0]],
  [[], 0, []],
];

test('gather: webgpu matches the cpu reference on awkward shapes (float32 and int32)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [k, [xs, axis, is]] of GATHER_CASES.entries()) {
    const len = xs.length === 0 ? 1 : xs[(axis + xs.length) % xs.length];
    const xv = randomValues(size(xs), 10 + k, -5, 5);
    const iv = randomIndices(size(is), len, 20 + k);
    for (const dtype of ['float32', 'int32'] as const) {
      const vals = dtype === 'int32' ? xv.map(Math.round) : xv;
      const want = r.gather(r.tensor(vals, xs, { device: cpu, dtype }), axis, ints(iv, is, cpu));
      const got = r.gather(r.tensor(vals, xs, { device: gpu, dtype }), axis, ints(iv, is, gpu));
      t.deepEqual(got.shape, is);
      t.is(got.dtype, dtype);
      t.deepEqual(await values(got), await values(want), `gather [${xs}] axis ${axis} index [${is}] ${dtype}`);
    }
  }
});

test('gather: the torch.gather example, on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([[1, 2], [3, 4]], undefined, { device });
    t.deepEqual(await r.gather(x, 1, ints([0, 0, 1, 0], [2, 2], device)).array(), [[1, 1], [4, 3]], device.kind);
    t.deepEqual(await x.gather(0, ints([1, 0], [1, 2], device)).array(), [[3, 2]], device.kind);
  }
});

test('gather: gradcheck, with repeated indices accumulating', async (t) => {
  for (const [xs, axis, is] of [[[3, 4], 0, [5, 4]], [[3, 4], 1, [2, 7]], [[2, 3, 4], 2, [2, 2, 3]]] as [number[], number, number[]][]) {
    const x = f64(randomValues(size(xs), 3), xs, true);
    const index = ints(randomIndices(size(is), xs[axis], 4), is, cpu);
    const res = await r.gradcheck((a) => r.gather(a, axis, index), [x]);
    t.true(res.ok, `[${xs}] axis ${axis}: ${JSON.stringify(res)}`);
  }
  // Every position picked twice gets a gradient of 2.
  const x = r.tensor([1, 2, 3], [3], { device: cpu, requiresGrad: true });
  r.tidy(() => r.sum(r.gather(x, 0, ints([2, 0, 2, 0, 1, 1], [6], cpu))).backward());
  t.deepEqual(await values(x.grad!), [2, 2, 2]);
});

// --- scatterAdd ---

test('scatterAdd: webgpu matches the cpu reference, heavy collisions included', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const cases: [number[], number, number[]][] = [
    [[3, 4], 1, [3, 500]], // 125 adds per target element: the compare-exchange loop under contention
    [[6, 5, 7], 0, [9, 5, 6]],
    [[6, 5, 7], 2, [6, 1, 20]],
    [[1], 0, [1]],
    [[2000], 0, [3001]],
    [[4, 3], 0, [0, 3]],
  ];
  for (const [k, [ts, axis, is]] of cases.entries()) {
    const tv = randomValues(size(ts), 30 + k);
    const sv = randomValues(size(is), 40 + k);
    const iv = randomIndices(size(is), ts[axis], 50 + k);
    for (const withTarget of [true, false]) {
      const target = (device: Device, dtype: 'float32' | 'float64') => (withTarget ? r.tensor(tv, ts, { device, dtype }) : ts);
      const want = r.scatterAdd(target(cpu, 'float64'), axis, ints(iv, is, cpu), r.tensor(sv, is, { device: cpu, dtype: 'float64' }));
      const got = r.scatterAdd(target(gpu, 'float32'), axis, ints(iv, is, gpu), r.tensor(sv, is, { device: gpu }));
      t.deepEqual(got.shape, ts);
      assertClose(t, await values(got), await values(want), { rtol: 1e-4, atol: 1e-4 }, `scatterAdd [${ts}] axis ${axis} [${is}] onto ${withTarget ? 'a target' : 'zeros'}`);
    }
    // int32 accumulation is exact.
    const si = sv.map((v) => Math.round(v * 100));
    const wantI = r.scatterAdd(ts, axis, ints(iv, is, cpu), ints(si, is, cpu));
    const gotI = r.scatterAdd(ts, axis, ints(iv, is, gpu), ints(si, is, gpu));
    t.deepEqual(await values(gotI), await values(wantI), `int32 scatterAdd [${ts}]`);
  }
});

test('scatterAdd: gradcheck for target and src; it is the adjoint of gather', async (t) => {
  const target = f64(randomValues(12, 6), [3, 4], true);
  const src = f64(randomValues(15, 7), [3, 5], true);
  const index = ints(randomIndices(15, 4, 8), [3, 5], cpu);
  const res = await r.gradcheck((a, b) => r.scatterAdd(a, 1, index, b), [target, src]);
  t.true(res.ok, JSON.stringify(res));
  // <gather(x), y> == <x, scatterAdd(0, y)>
  const x = f64(randomValues(12, 9), [3, 4]);
  const y = f64(randomValues(15, 10), [3, 5]);
  const lhs = await r.sum(r.mul(r.gather(x, 1, index), y)).item();
  const rhs = await r.sum(r.mul(x, r.scatterAdd([3, 4], 1, index, y))).item();
  t.true(Math.abs(lhs - rhs) < 1e-12, `${lhs} vs ${rhs}`);
});

// --- indexSelect / indexAdd ---

const SELECT_CASES: [number[], number, number][] = [
  [[50, 33], 0, 77], // an embedding lookup with repeated ids
  [[2, 7, 5], 1, 3],
  [[2, 7, 5], 2, 11],
  [[2, 7, 5], -1, 1],
  [[1], 0, 1],
  [[300], 0, 1000],
  [[4, 3], 0, 0],
  [[0, 3], 1, 2],
];

test('indexSelect: webgpu matches the cpu reference (float32 and int32)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [k, [xs, axis, m]] of SELECT_CASES.entries()) {
    const a = (axis + xs.length) % xs.length;
    const xv = randomValues(size(xs), 60 + k, -5, 5);
    const iv = randomIndices(m, xs[a], 70 + k);
    for (const dtype of ['float32', 'int32'] as const) {
      const vals = dtype === 'int32' ? xv.map(Math.round) : xv;
      const want = r.indexSelect(r.tensor(vals, xs, { device: cpu, dtype }), axis, ints(iv, [m], cpu));
      const got = r.indexSelect(r.tensor(vals, xs, { device: gpu, dtype }), axis, ints(iv, [m], gpu));
      t.deepEqual(got.shape, xs.map((d, i) => (i === a ? m : d)));
      t.deepEqual(await values(got), await values(want), `indexSelect [${xs}] axis ${axis} ${m} ids ${dtype}`);
    }
  }
});

test('indexAdd: webgpu matches the cpu reference, repeated indices accumulating', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [k, [xs, axis, m]] of SELECT_CASES.entries()) {
    const a = (axis + xs.length) % xs.length;
    const ss = xs.map((d, i) => (i === a ? m : d));
    const tv = randomValues(size(xs), 80 + k);
    const sv = randomValues(size(ss), 90 + k);
    const iv = randomIndices(m, xs[a], 100 + k);
    const want = r.indexAdd(r.tensor(tv, xs, { device: cpu, dtype: 'float64' }), axis, ints(iv, [m], cpu), r.tensor(sv, ss, { device: cpu, dtype: 'float64' }));
    const got = r.indexAdd(r.tensor(tv, xs, { device: gpu }), axis, ints(iv, [m], gpu), r.tensor(sv, ss, { device: gpu }));
    assertClose(t, await values(got), await values(want), { rtol: 1e-4, atol: 1e-4 }, `indexAdd [${xs}] axis ${axis} ${m} ids`);
    const wantZ = r.indexAdd(xs, axis, ints(iv, [m], cpu), r.tensor(sv, ss, { device: cpu, dtype: 'float64' }));
    const gotZ = r.indexAdd(xs, axis, ints(iv, [m], gpu), r.tensor(sv, ss, { device: gpu }));
    assertClose(t, await values(gotZ), await values(wantZ), { rtol: 1e-4, atol: 1e-4 }, `indexAdd [${xs}] axis ${axis} ${m} ids onto zeros`);
  }
});

test('indexSelect and indexAdd: gradcheck', async (t) => {
  const w = f64(randomValues(20, 11), [5, 4], true);
  const ids = ints([3, 0, 3, 3, 4], [5], cpu);
  let res = await r.gradcheck((a) => r.indexSelect(a, 0, ids), [w]);
  t.true(res.ok, `indexSelect axis 0: ${JSON.stringify(res)}`);
  const x = f64(randomValues(24, 12), [2, 3, 4], true);
  res = await r.gradcheck((a) => r.indexSelect(a, 2, ints([1, 1, 0], [3], cpu)), [x]);
  t.true(res.ok, `indexSelect axis 2: ${JSON.stringify(res)}`);
  const target = f64(randomValues(20, 13), [4, 5], true);
  const src = f64(randomValues(12, 14), [4, 3], true);
  res = await r.gradcheck((a, b) => r.indexAdd(a, 1, ints([4, 0, 4], [3], cpu), b), [target, src]);
  t.true(res.ok, `indexAdd: ${JSON.stringify(res)}`);
});

test('indexSelect as an embedding: the gradient of a row counts its lookups', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const weight = r.tensor(randomValues(12, 15), [4, 3], { device, requiresGrad: true });
    r.tidy(() => r.sum(r.indexSelect(weight, 0, ints([2, 0, 2, 2], [4], device))).backward());
    t.deepEqual(await values(weight.grad!), [1, 1, 1, 0, 0, 0, 3, 3, 3, 0, 0, 0], device.kind);
  }
});

// --- sort ---

/** [shape, axis]: short and long rows, sorting along a middle or leading axis, empty. */
const SORT_CASES: [number[], number][] = [
  [[1], 0], [[7], 0], [[3, 300], 1], [[300, 3], 0], [[2, 5, 33], 1], [[2, 5, 33], -1], [[1000], 0], [[0], 0], [[4, 0], 1], [[4, 0], 0], [[], 0],
];

test('sort: webgpu matches the cpu reference, ascending and descending, with ties', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [k, [shape, axis]] of SORT_CASES.entries()) {
    const raw = randomValues(size(shape), 110 + k, -4, 4);
    // Half the cases rounded, so that ties are everywhere and stability is what decides the indices.
    for (const v of [raw, raw.map(Math.round)]) {
      for (const descending of [false, true]) {
        for (const dtype of ['float32', 'int32'] as const) {
          if (dtype === 'int32' && v === raw) continue;
          const want = r.sort(r.tensor(v, shape, { device: cpu, dtype }), axis, descending);
          const got = r.sort(r.tensor(v, shape, { device: gpu, dtype }), axis, descending);
          const what = `sort [${shape}] axis ${axis}${descending ? ' descending' : ''} ${dtype}${v === raw ? '' : ' ties'}`;
          t.deepEqual(got.values.shape, shape, what);
          t.is(got.indices.dtype, 'int32');
          t.deepEqual(await values(got.values), await values(want.values), `${what}: values`);
          t.deepEqual(await values(got.indices), await values(want.indices), `${what}: indices`);
        }
      }
    }
  }
});

test('sort is stable, puts NaN last (first descending) and ties -0 with 0, on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([2, 1, 2, 1, 2], [5], { device });
    t.deepEqual(await values(x.sort().indices), [1, 3, 0, 2, 4], device.kind);
    t.deepEqual(await values(x.sort(0, true).indices), [0, 2, 4, 1, 3], device.kind);
    const y = r.tensor([NaN, 1, -Infinity, -0, Infinity, 0, NaN, -3.5], [8], { device });
    const up = y.sort();
    t.deepEqual(await values(up.indices), [2, 7, 3, 5, 1, 4, 0, 6], device.kind);
    const upv = await values(up.values);
    t.deepEqual(upv.slice(0, 6), [-Infinity, -3.5, -0, 0, 1, Infinity], device.kind);
    t.true(Number.isNaN(upv[6]) && Number.isNaN(upv[7]), device.kind);
    t.deepEqual(await values(y.sort(-1, true).indices), [0, 6, 4, 1, 3, 5, 7, 2], device.kind);
  }
});

test('sort: gradcheck (the gradient goes back through the indices)', async (t) => {
  for (const descending of [false, true]) {
    const x = f64(randomValues(24, 16), [4, 6], true);
    for (const axis of [0, 1]) {
      const res = await r.gradcheck((a) => r.sort(a, axis, descending).values, [x]);
      t.true(res.ok, `axis ${axis}${descending ? ' descending' : ''}: ${JSON.stringify(res)}`);
    }
  }
  // Weighting the sorted values by position: the gradient of x_i is the weight of its rank.
  const x = r.tensor([0.3, -1, 2], [3], { device: cpu, requiresGrad: true });
  r.tidy(() => r.sum(r.mul(x.sort().values, r.tensor([1, 10, 100], [3], { device: cpu }))).backward());
  t.deepEqual(await values(x.grad!), [10, 1, 100]);
});

// --- gradients computed on WebGPU ---

test('backward through gather, indexSelect and sort on webgpu matches the cpu', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const xv = randomValues(6 * 40, 17);
  const gi = randomIndices(6 * 25, 40, 18);
  const si = randomIndices(9, 6, 19);
  const grads: number[][] = [];
  for (const device of [cpu, gpu]) {
    const x = r.tensor(xv, [6, 40], { device, requiresGrad: true });
    r.tidy(() => {
      const a = r.gather(x, 1, ints(gi, [6, 25], device)); // [6, 25]
      const b = r.indexSelect(x, 0, ints(si, [9], device)); // [9, 40]
      const c = x.sort(0, true).values; // [6, 40]
      const w = r.tensor(randomValues(40, 20), [40], { device });
      const loss = r.add(r.add(r.sum(r.square(a)), r.sum(r.mul(b, w))), r.sum(r.mul(r.mul(c, c), w)));
      loss.backward();
    });
    grads.push(await values(x.grad!));
  }
  assertClose(t, grads[1], grads[0], { rtol: 1e-4, atol: 1e-5 }, 'dx');
});

// --- errors and out-of-range indices ---

test('cpu: out-of-range indices throw, naming the op, the index and the valid range', (t) => {
  const x = r.tensor([1, 2, 3, 4, 5, 6], [2, 3], { device: cpu });
  t.throws(() => r.gather(x, 1, ints([0, 3], [1, 2], cpu)), { message: /gather: index 3 is out of range for axis 1 of length 3 \(valid range \[0, 3\)\)/ });
  t.throws(() => r.gather(x, 0, ints([-1], [1, 1], cpu)), { message: /gather: index -1 .*\[0, 2\)/ });
  t.throws(() => r.indexSelect(x, 0, ints([0, 2], [2], cpu)), { message: /indexSelect: index 2 .*\[0, 2\)/ });
  t.throws(() => r.scatterAdd([2, 3], 1, ints([7], [1, 1], cpu), r.tensor([1], [1, 1], { device: cpu })), { message: /scatterAdd: index 7 .*\[0, 3\)/ });
  t.throws(() => r.indexAdd([2, 3], 1, ints([-2], [1], cpu), r.tensor([1, 1], [2, 1], { device: cpu })), { message: /indexAdd: index -2 .*\[0, 3\)/ });
});

test('webgpu: out-of-range indices read 0 and add nothing', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const x = r.tensor([1, 2, 3, 4, 5, 6], [2, 3], { device: gpu });
  t.deepEqual(await values(r.gather(x, 1, ints([2, 3, -1, 0], [2, 2], gpu))), [3, 0, 0, 4]);
  t.deepEqual(await values(r.indexSelect(x, 0, ints([1, 2, -5], [3], gpu))), [4, 5, 6, 0, 0, 0, 0, 0, 0]);
  t.deepEqual(await values(r.scatterAdd([2, 3], 1, ints([1, 9, -1, 2], [2, 2], gpu), r.tensor([1, 2, 3, 4], [2, 2], { device: gpu }))), [0, 1, 0, 0, 0, 4]);
  t.deepEqual(await values(r.indexAdd(x, 0, ints([5, 0], [2], gpu), r.tensor([1, 1, 1, 2, 2, 2], [2, 3], { device: gpu }))), [3, 4, 5, 4, 5, 6]);
});

test('shape and dtype errors name the op and the shapes', (t) => {
  const x = r.tensor([1, 2, 3, 4, 5, 6], [2, 3], { device: cpu });
  t.throws(() => r.gather(x, 1, ints([0], [1], cpu)), { message: /gather: index of shape \[1\] must have the same rank as the input \[2,3\]/ });
  t.throws(() => r.gather(x, 1, ints([0, 0, 0], [3, 1], cpu)), { message: /larger than \[2,3\] on dimension 0/ });
  t.throws(() => r.gather(x, 1, r.tensor([0], [1, 1], { device: cpu })), { message: /gather: the index tensor must be int32, got float32/ });
  t.throws(() => r.indexSelect(x, 0, ints([0, 1], [1, 2], cpu)), { message: /indexSelect: indices must be 1-D/ });
  t.throws(() => r.scatterAdd([2, 3], 0, ints([0, 1], [1, 2], cpu), r.tensor([1, 2, 3], [1, 3], { device: cpu })), { message: /src of shape \[1,3\] must have the index's shape \[1,2\]/ });
  t.throws(() => r.indexAdd([2, 3], 0, ints([0], [1], cpu), r.tensor([1, 2], [1, 2], { device: cpu })), { message: /indexAdd: src of shape \[1,2\] must be \[1,3\]/ });
  t.throws(() => r.sort(x, 2), { message: /axis 2 is out of range/ });
});

test('tensor methods', async (t) => {
  const x = r.tensor([[3, 1, 2], [0, 5, 4]], undefined, { device: cpu });
  t.deepEqual(await x.gather(1, ints([2, 2, 0, 1], [2, 2], cpu)).array(), [[2, 2], [0, 5]]);
  t.deepEqual(await x.indexSelect(1, ints([1], [1], cpu)).array(), [[1], [5]]);
  const { values: v, indices } = x.sort(1);
  t.deepEqual(await v.array(), [[1, 2, 3], [0, 4, 5]]);
  t.deepEqual(await indices.array(), [[1, 2, 0], [0, 2, 1]]);
  t.deepEqual(await x.scatterAdd(0, ints([1], [1, 1], cpu), r.tensor([10], [1, 1], { device: cpu })).array(), [[3, 1, 2], [10, 5, 4]]);
  t.deepEqual(await x.indexAdd(0, ints([0], [1], cpu), r.tensor([[1, 1, 1]], undefined, { device: cpu })).array(), [[4, 2, 3], [0, 5, 4]]);
});

test.serial('no buffers leak on webgpu inside tidy', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const x = r.tensor(randomValues(60, 21), [6, 10], { device: gpu, requiresGrad: true });
  const ids = ints([1, 1, 5], [3], gpu);
  await gpu.sync();
  const before = gpu.memory().liveBuffers;
  r.tidy(() => {
    const { values: v } = x.sort(1);
    r.sum(r.add(r.sum(r.indexSelect(v, 0, ids)), r.sum(r.gather(x, 0, r.tensor([0, 5], [1, 2], { device: gpu, dtype: 'int32' }))))).backward();
  });
  x.zeroGrad();
  await gpu.sync();
  t.is(gpu.memory().liveBuffers, before);
});

test.after.always(async () => {
  await r.shutdown();
});


test('embedding looks up rows for ids of any shape; repeated ids sum their gradients', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const weight = r.tensor([[0, 1], [10, 11], [20, 21]], undefined, { device, requiresGrad: true });
    const ids = r.tensor([[2, 0], [2, 2]], undefined, { device, dtype: 'int32' });
    const out = r.embedding(weight, ids);
    t.deepEqual(out.shape, [2, 2, 2]);
    t.deepEqual(await out.array(), [[[20, 21], [0, 1]], [[20, 21], [20, 21]]], device.kind);
    r.tidy(() => r.sum(r.embedding(weight, ids)).backward());
    t.deepEqual(Array.from(await weight.grad!.data()), [1, 1, 0, 0, 3, 3], device.kind);
    weight.dispose();
  }
  t.throws(() => r.embedding(r.zeros([3], { device: cpu }), r.tensor([0], [1], { device: cpu, dtype: 'int32' })), { message: /weight must be \[vocab, dim\]/ });
});
