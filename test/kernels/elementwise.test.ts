import test from 'ava';
import * as r from '../../src/index.js';
import { assertClose, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

type Unary = 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'square' | 'reciprocal' | 'relu' | 'sigmoid' | 'tanh' | 'sin' | 'cos' | 'sign';
/** Each op with the input range it is defined on. */
const UNARY: [Unary, number, number][] = [
  ['neg', -5, 5], ['abs', -5, 5], ['exp', -10, 10], ['log', 0.01, 10], ['sqrt', 0.01, 10], ['rsqrt', 0.01, 10],
  ['square', -5, 5], ['reciprocal', 0.1, 5], ['relu', -5, 5], ['sigmoid', -20, 20], ['tanh', -10, 10],
  ['sin', -6, 6], ['cos', -6, 6], ['sign', -3, 3],
];
const SHAPES = [[1], [7], [3, 5], [2, 3, 17], [1000]];

for (const [op, lo, hi] of UNARY) {
  test(`${op}: webgpu matches the cpu reference`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    for (const [k, shape] of SHAPES.entries()) {
      const v = randomValues(shape.reduce((a, b) => a * b, 1), 17 + k, lo, hi);
      const want = await values(r[op](r.tensor(v, shape, { device: cpu, dtype: 'float64' })));
      const got = await values(r[op](r.tensor(v, shape, { device: gpu })));
      assertClose(t, got, want, { rtol: 2e-5, atol: 1e-6 }, `${op} [${shape}]`);
    }
  });
  if (op !== 'sign') {
    test(`${op}: gradcheck`, async (t) => {
      const x = r.tensor(randomValues(12, 5, lo, hi), [3, 4], { device: cpu, dtype: 'float64', requiresGrad: true });
      const res = await r.gradcheck((a) => r[op](a), [x]);
      t.true(res.ok, JSON.stringify(res));
    });
  }
}

type Binary = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'greater' | 'greaterEqual' | 'less' | 'lessEqual' | 'equal' | 'notEqual';
const BINARY: Binary[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual'];
/** Shape pairs that broadcast in every way: scalar, trailing, middle, both sides. */
const PAIRS: [number[], number[]][] = [[[7], [7]], [[3, 5], []], [[2, 3, 5], [5]], [[3, 1], [1, 4]], [[2, 1, 5], [3, 1]], [[1], [13]]];

for (const op of BINARY) {
  test(`${op}: webgpu matches the cpu reference with broadcasting`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    for (const [k, [sa, sb]] of PAIRS.entries()) {
      const na = sa.reduce((a, b) => a * b, 1), nb = sb.reduce((a, b) => a * b, 1);
      // Positive bases for pow; small integers so that comparisons hit ties.
      const va = op === 'pow' ? randomValues(na, k, 0.1, 3) : randomValues(na, k, -3, 3).map((x) => (op.includes('qual') || op === 'maximum' ? Math.round(x) : x));
      const vb = op === 'pow' ? randomValues(nb, k + 50, -2, 2) : randomValues(nb, k + 50, -3, 3).map((x) => (op.includes('qual') || op === 'maximum' ? Math.round(x) : x));
      const want = r[op](r.tensor(va, sa, { device: cpu, dtype: 'float64' }), r.tensor(vb, sb, { device: cpu, dtype: 'float64' }));
      const got = r[op](r.tensor(va, sa, { device: gpu }), r.tensor(vb, sb, { device: gpu }));
      t.deepEqual(got.shape, want.shape);
      assertClose(t, await values(got), await values(want), { rtol: 2e-5, atol: 1e-6 }, `${op} [${sa}] [${sb}]`);
    }
  });
}

for (const op of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const) {
  test(`${op}: gradcheck through broadcasting`, async (t) => {
    const a = r.tensor(randomValues(6, 1, 0.5, 2), [2, 3], { device: cpu, dtype: 'float64', requiresGrad: true });
    const b = r.tensor(randomValues(3, 2, 0.5, 2), [3], { device: cpu, dtype: 'float64', requiresGrad: true });
    const res = await r.gradcheck((x, y) => r[op](x, y), [a, b]);
    t.true(res.ok, JSON.stringify(res));
  });
}

test('maximum splits the gradient evenly at ties, as PyTorch does', async (t) => {
  const a = r.tensor([1, 2, 3], [3], { device: cpu, requiresGrad: true });
  const b = r.tensor([1, 5, 0], [3], { device: cpu, requiresGrad: true });
  r.tidy(() => r.sum(r.maximum(a, b)).backward());
  t.deepEqual(await values(a.grad!), [0.5, 0, 1]);
  t.deepEqual(await values(b.grad!), [0.5, 1, 0]);
});

test('pow of negative bases follows the sign of integer exponents', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const got = await values(r.pow(r.tensor([-2, -2, -2, 0, 0], [5], { device }), r.tensor([3, 2, 0.5, 0, 2], [5], { device })));
    t.deepEqual(got.slice(0, 2), [-8, 4], device.kind);
    t.true(Number.isNaN(got[2]), device.kind);
    t.deepEqual(got.slice(3), [1, 0], device.kind);
  }
});

test('int32 arithmetic and comparisons on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const a = r.tensor([1, -2, 3, 7], [4], { device, dtype: 'int32' });
    const b = r.tensor([2], [1], { device, dtype: 'int32' });
    t.deepEqual(await values(r.mul(a, b)), [2, -4, 6, 14]);
    t.deepEqual(await values(r.maximum(a, b)), [2, 2, 3, 7]);
    t.deepEqual(await values(r.greater(a, b)), [0, 0, 1, 1]);
    t.deepEqual(await values(r.abs(a)), [1, 2, 3, 7]);
    t.is((r.add(a, 1)).dtype, 'int32');
  }
  t.throws(() => r.exp(r.tensor([1], [1], { device: cpu, dtype: 'int32' })), { message: /needs a float tensor/ });
});

test('where and maskedFill broadcast and route gradients to the chosen side', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const c = r.tensor([1, 0, 1], [3], { device, dtype: 'int32' });
    const a = r.tensor([[1, 2, 3], [4, 5, 6]], undefined, { device });
    t.deepEqual(await values(r.where(c, a, -1)), [1, -1, 3, 4, -1, 6]);
    t.deepEqual(await values(r.maskedFill(a, r.tensor([0, 1, 0], [3], { device }), 9)), [1, 9, 3, 4, 9, 6]);
  }
  const x = r.tensor(randomValues(6, 3), [2, 3], { device: cpu, dtype: 'float64', requiresGrad: true });
  const y = r.tensor(randomValues(3, 4), [3], { device: cpu, dtype: 'float64', requiresGrad: true });
  const cond = r.tensor([1, 0, 1, 0, 0, 1], [2, 3], { device: cpu, dtype: 'float64' });
  const res = await r.gradcheck((p, q) => r.where(cond, p, q), [x, y]);
  t.true(res.ok, JSON.stringify(res));
});

test('cast truncates toward zero and passes gradients between float types', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([1.7, -1.7, 2.5, -0.2], [4], { device });
    t.deepEqual(await values(r.cast(x, 'int32')), [1, -1, 2, 0]);
    t.deepEqual(await values(r.cast(r.tensor([3, -4], [2], { device, dtype: 'int32' }), 'float32')), [3, -4]);
  }
  const x = r.tensor([1, 2], [2], { device: cpu, dtype: 'float64', requiresGrad: true });
  r.tidy(() => r.sum(r.mul(r.cast(x, 'float32'), 3)).backward());
  t.deepEqual(await values(x.grad!), [3, 3]);
  const res = await r.gradcheck((v) => r.cast(r.mul(r.cast(v, 'float32'), 2), 'float64'), [x], { eps: 1e-3, atol: 1e-4 });
  t.true(res.ok, JSON.stringify(res));
});

test('sigmoid and tanh stay finite and exact at ±1e4', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([1e4, -1e4, 0], [3], { device });
    t.deepEqual(await values(r.sigmoid(x)), [1, 0, 0.5]);
    t.deepEqual(await values(r.tanh(x)), [1, -1, 0]);
  }
});

test('tanh keeps float32 relative accuracy near 0 and across 0.625 (where its two forms meet)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const xs = [1e-30, -1e-6, 1e-3, -0.01, 0.1, 0.3, -0.6, 0.624, 0.625, -0.626, 0.7, 1, -2, 5, 9].map(Math.fround);
  const got = await values(r.tanh(r.tensor(xs, [xs.length], { device: gpu })));
  got.forEach((v, i) => t.true(Math.abs(v - Math.tanh(xs[i])) <= 3e-7 * Math.abs(Math.tanh(xs[i])), `tanh(${xs[i]}) = ${v}, want ${Math.tanh(xs[i])}`));
});

test('empty tensors pass through elementwise ops', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.zeros([0, 3], { device });
    const y = r.add(x, 1);
    t.deepEqual(y.shape, [0, 3]);
    t.deepEqual(await values(y), []);
  }
});

test.after.always(async () => {
  await r.shutdown();
});
