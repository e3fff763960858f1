import test from 'ava';
import * as r from '../../src/index.js';
import { softmaxCost, logSigmoidCost } from '../../src/kernels/softmax/contract.js';
import { assertClose, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

type Op = 'softmax' | 'logSoftmax';
const OPS: Op[] = ['softmax', 'logSoftmax'];

/**
 * Awkward shapes and axes: length 1, primes, rows shorter and longer than a workgroup and not
 * multiples of one, batched, and every axis of a rank-4 tensor (inner > 1 takes the column kernel).
 */
const CASES: [number[], number][] = [
  [[1], -1], [[7], -1], [[1, 1], -1], [[3, 5], -1], [[2, 3, 17], -1], [[5, 31], -1], [[3, 33], -1],
  [[4, 257], -1], [[2, 1000], -1], [[1, 4099], -1],
  [[3, 5], 0], [[2, 3, 17], 1], [[2, 3, 4, 5], 0], [[2, 3, 4, 5], 1], [[2, 3, 4, 5], 2], [[2, 3, 4, 5], 3],
  [[257, 3], 0], [[3, 70, 45], 1], [[5, 40], 0], [[2, 9001], -1],
];

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

for (const op of OPS) {
  test(`${op}: webgpu matches the cpu reference on awkward shapes and axes`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    for (const [k, [shape, axis]] of CASES.entries()) {
      const v = randomValues(size(shape), 31 + k, -12, 12);
      const want = await values(r[op](r.tensor(v, shape, { device: cpu, dtype: 'float64' }), axis));
      const got = r[op](r.tensor(v, shape, { device: gpu }), axis);
      t.deepEqual(got.shape, shape);
      assertClose(t, await values(got), want, { rtol: 1e-5, atol: 1e-6 }, `${op} [${shape}] axis ${axis}`);
    }
  });

  test(`${op}: more than 65535 rows fold into a 2-D grid`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    const shape = [70001, 3];
    const v = randomValues(size(shape), 7, -5, 5);
    const want = await values(r[op](r.tensor(v, shape, { device: cpu, dtype: 'float64' })));
    const got = await values(r[op](r.tensor(v, shape, { device: gpu })));
    assertClose(t, got, want, { rtol: 1e-5, atol: 1e-6 }, `${op} [${shape}]`);
  });

  for (const [shape, axis] of [[[3, 4], -1], [[3, 4], 0], [[2, 3, 4], 1], [[1], 0], [[], -1]] as [number[], number][]) {
    test(`${op}: gradcheck [${shape}] axis ${axis}`, async (t) => {
      const x = r.tensor(randomValues(size(shape), 5, -3, 3), shape, { device: cpu, dtype: 'float64', requiresGrad: true });
      const res = await r.gradcheck((a) => r[op](a, axis), [x]);
      t.true(res.ok, JSON.stringify(res));
    });
  }
}

test('logSigmoid: webgpu matches the cpu reference, tails included', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [k, shape] of [[1], [7], [3, 5], [2, 3, 17], [1000], [5, 257]].entries()) {
    const v = randomValues(size(shape), 61 + k, -60, 60);
    const want = await values(r.logSigmoid(r.tensor(v, shape, { device: cpu, dtype: 'float64' })));
    const got = await values(r.logSigmoid(r.tensor(v, shape, { device: gpu })));
    // A relative tolerance with no absolute slack: for x ≫ 0, logσ(x) ≈ −exp(−x) is tiny, and
    // only an accurate log1p gets its digits right.
    assertClose(t, got, want, { rtol: 1e-5, atol: 0 }, `logSigmoid [${shape}]`);
  }
  // Around where 1 + exp(−|x|) rounds to 1 in f32 (|x| ≈ 16.6), where log(1 + z) would fail.
  const v = Array.from({ length: 401 }, (_, i) => -20 + i * 0.1);
  const want = await values(r.logSigmoid(r.tensor(v, [401], { device: cpu, dtype: 'float64' })));
  const got = await values(r.logSigmoid(r.tensor(v, [401], { device: gpu })));
  assertClose(t, got, want, { rtol: 1e-5, atol: 0 }, 'logSigmoid on [-20, 20]');
});

test('logSigmoid: gradcheck', async (t) => {
  const x = r.tensor(randomValues(12, 9, -8, 8), [3, 4], { device: cpu, dtype: 'float64', requiresGrad: true });
  const res = await r.gradcheck((a) => r.logSigmoid(a), [x]);
  t.true(res.ok, JSON.stringify(res));
});

/** The gradient of Σ w ⊙ f(x) on the GPU (float32) against the CPU (float64). */
async function gradients(f: (x: r.Tensor) => r.Tensor, shape: number[], seed: number, device: r.Device, lo = -4, hi = 4): Promise<number[]> {
  const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
  const x = r.tensor(randomValues(size(shape), seed, lo, hi), shape, { device, dtype, requiresGrad: true });
  const w = r.tensor(randomValues(size(shape), seed + 1), shape, { device, dtype });
  r.tidy(() => r.sum(r.mul(f(x), w)).backward());
  const g = await values(x.grad!);
  x.dispose();
  w.dispose();
  return g;
}

const GRAD_CASES: [string, (x: r.Tensor) => r.Tensor, number[]][] = [
  ['softmax last', (x) => r.softmax(x), [3, 37]],
  ['softmax axis 1', (x) => r.softmax(x, 1), [2, 5, 3]],
  ['softmax long rows', (x) => r.softmax(x), [2, 300]],
  ['logSoftmax last', (x) => r.logSoftmax(x), [3, 37]],
  ['logSoftmax axis 0', (x) => r.logSoftmax(x, 0), [5, 3]],
  ['logSoftmax long rows', (x) => r.logSoftmax(x), [2, 300]],
  ['logSigmoid', (x) => r.logSigmoid(x), [4, 29]],
];

for (const [name, f, shape] of GRAD_CASES) {
  test(`${name}: the webgpu gradient matches the cpu gradient`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    const want = await gradients(f, shape, 3, cpu);
    const got = await gradients(f, shape, 3, gpu);
    assertClose(t, got, want, { rtol: 1e-4, atol: 1e-6 }, name);
  });
}

test('softmax, logSoftmax and logSigmoid at ±1e4 give finite, exact values and gradients', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([[1e4, -1e4, 0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], undefined, { device, requiresGrad: true });
    const p = await values(r.softmax(x));
    t.deepEqual([...p.slice(0, 3), ...p.slice(6)], [1, 0, 0, 0.5, 0.5, 0], device.kind);
    assertClose(t, p.slice(3, 6), [1 / 3, 1 / 3, 1 / 3], { rtol: 1e-6, atol: 0 }, device.kind);
    const ls = await values(r.logSoftmax(x));
    t.deepEqual(ls.slice(0, 3), [0, -2e4, -1e4], device.kind);
    assertClose(t, ls.slice(3), [-Math.log(3), -Math.log(3), -Math.log(3), -Math.log(2), -Math.log(2), -2e4 - Math.log(2)], { rtol: 1e-6, atol: 0 }, device.kind);
    const s = r.tensor([1e4, -1e4, 0, 80, -88, 1e-8], [6], { device, requiresGrad: true });
    const lsig = await values(r.logSigmoid(s));
    t.deepEqual(lsig.slice(0, 2), [0, -1e4], device.kind);
    assertClose(t, lsig.slice(2), [-Math.LN2, -Math.exp(-80), -88, -Math.LN2 + 0.5e-8].map(Math.fround), { rtol: 1e-6, atol: 0 }, device.kind);

    r.tidy(() => r.sum(r.mul(r.softmax(x), r.tensor([[1, 2, 3], [1, 2, 3], [1, 2, 3]], undefined, { device }))).backward());
    const gx = await values(x.grad!);
    t.true(gx.every(Number.isFinite), `${device.kind}: softmax grad ${gx}`);
    assertClose(t, gx, [0, 0, 0, -1 / 3, 0, 1 / 3, -0.25, 0.25, 0], { rtol: 1e-6, atol: 1e-7 }, device.kind);
    r.tidy(() => r.sum(r.logSigmoid(s)).backward());
    const gs = await values(s.grad!);
    t.deepEqual(gs.slice(0, 3), [0, 1, 0.5], device.kind);
    t.true(gs.every(Number.isFinite), `${device.kind}: logSigmoid grad ${gs}`);
  }
});

test('masked entries get probability 0; fully masked rows give NaN, as PyTorch', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    // Rows along the last axis (row kernel) and along axis 0 (column kernel).
    for (const [axis, data] of [[-1, [[0, -Infinity, 0], [-Infinity, -Infinity, -Infinity]]], [0, [[0, -Infinity], [-Infinity, -Infinity], [0, -Infinity]]]] as const) {
      const x = r.tensor(data as unknown as number[][], undefined, { device });
      const p = await values(r.softmax(x, axis));
      const lp = await values(r.logSoftmax(x, axis));
      const want = axis === -1 ? [0.5, 0, 0.5, NaN, NaN, NaN] : [0.5, NaN, 0, NaN, 0.5, NaN];
      const wantLog = axis === -1 ? [-Math.LN2, -Infinity, -Math.LN2, NaN, NaN, NaN] : [-Math.LN2, NaN, -Infinity, NaN, -Math.LN2, NaN];
      assertClose(t, p, want, { rtol: 1e-6 }, `${device.kind} softmax axis ${axis}`);
      assertClose(t, lp, wantLog, { rtol: 1e-6 }, `${device.kind} logSoftmax axis ${axis}`);
    }
  }
});

test('empty tensors and empty axes pass through', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    for (const shape of [[0, 5], [3, 0], [0]]) {
      for (const f of [r.softmax, r.logSoftmax, r.logSigmoid]) {
        const y = f(r.zeros(shape, { device }));
        t.deepEqual(y.shape, shape);
        t.deepEqual(await values(y), []);
      }
    }
  }
});

test('Tensor methods, defaults and errors', async (t) => {
  const x = r.tensor([[1, 2, 3], [4, 5, 7]], undefined, { device: cpu, dtype: 'float64' });
  t.deepEqual(await values(x.softmax()), await values(r.softmax(x, -1)));
  t.deepEqual(await values(x.logSoftmax(0)), await values(r.logSoftmax(x, 0)));
  t.deepEqual(await values(x.logSigmoid()), await values(r.logSigmoid(x)));
  // Softmax of a scalar is 1 (torch.softmax accepts dim 0 or -1 on a 0-d tensor).
  t.deepEqual(await values(r.softmax(r.tensor([5], [], { device: cpu }))), [1]);
  t.throws(() => r.softmax(x, 2), { message: /axis 2 is out of range for shape \[2,3\]/ });
  t.throws(() => r.logSigmoid(r.tensor([1], [1], { device: cpu, dtype: 'int32' })), { message: /needs a float tensor/ });
  t.throws(() => r.softmax(r.tensor([1], [1], { device: cpu, dtype: 'int32' })), { message: /needs a float tensor/ });
});

test('cost: FLOPs and compulsory bytes', (t) => {
  t.deepEqual(softmaxCost([4, 10], 'float32'), { flops: 280, bytes: 320 });
  t.deepEqual(softmaxCost([4, 10], 'float32', 0, true), { flops: 250, bytes: 320 });
  t.deepEqual(logSigmoidCost([5], 'float64'), { flops: 50, bytes: 80 });
});

test.after.always(async () => {
  await r.shutdown();
});
