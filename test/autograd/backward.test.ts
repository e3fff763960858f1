import test from 'ava';
import * as r from '../../src/index.js';
import { runOp } from '../../src/autograd/op.js';
import { cpu, gpuOrSkip, values } from '../helpers/devices.js';

test('backward sums gradients over every path (diamond graph)', async (t) => {
  const x = r.tensor([2, 3], [2], { device: cpu, requiresGrad: true });
  // y = x·x + 3x → dy/dx = 2x + 3
  r.tidy(() => r.sum(r.add(r.mul(x, x), r.mul(x, 3))).backward());
  t.deepEqual(await values(x.grad!), [7, 9]);
});

test('leaf gradients accumulate across backward calls until zeroGrad', async (t) => {
  const x = r.tensor([1, 2], [2], { device: cpu, requiresGrad: true });
  r.tidy(() => r.sum(r.mul(x, 2)).backward());
  r.tidy(() => r.sum(r.mul(x, 2)).backward());
  t.deepEqual(await values(x.grad!), [4, 4]);
  x.zeroGrad();
  t.is(x.grad, null);
});

test('noGrad records nothing; tensors without requiresGrad get no grad', async (t) => {
  const x = r.tensor([1, 2], [2], { device: cpu, requiresGrad: true });
  const c = r.tensor([5, 5], [2], { device: cpu });
  const y = r.noGrad(() => r.mul(x, c));
  t.false(y.requiresGrad);
  t.is(y.node, null);
  const z = r.sum(r.mul(x, c));
  z.backward();
  t.is(c.grad, null);
  t.deepEqual(await values(x.grad!), [5, 5]);
});

test('backward refuses non-scalar roots without a gradient, and tensors that need no grad', (t) => {
  const x = r.tensor([1, 2], [2], { device: cpu, requiresGrad: true });
  t.throws(() => r.mul(x, 2).backward(), { message: /one-element tensor/ });
  t.throws(() => r.tensor([1], [1], { device: cpu }).backward(), { message: /does not require grad/ });
});

test('backward frees the graph unless retainGraph is set', async (t) => {
  const x = r.tensor([1, 2], [2], { device: cpu, requiresGrad: true });
  const y = r.sum(r.exp(x));
  y.backward(undefined, { retainGraph: true });
  y.backward();
  const e = await values(r.exp(x));
  t.deepEqual(await values(x.grad!), e.map((v) => 2 * v));
  t.is(y.node, null);
});

test('a tensor used after dispose() is an error naming it', (t) => {
  const x = r.tensor([1], [1], { device: cpu });
  x.name = 'weights';
  x.dispose();
  t.throws(() => r.add(x, 1), { message: /'weights' \[1\] was used after dispose/ });
});

test('tidy disposes intermediates, keeps what it returns, and keep() opts out', async (t) => {
  const before = cpu.memory().liveBuffers;
  let kept: r.Tensor | null = null;
  const out = r.tidy(() => {
    const a = r.ones([3], { device: cpu });
    kept = r.keep(r.add(a, 1));
    return { result: r.mul(a, 5), list: [r.sub(a, 1)] };
  });
  t.deepEqual(await values(out.result), [5, 5, 5]);
  t.deepEqual(await values(kept!), [2, 2, 2]);
  t.is(cpu.memory().liveBuffers - before, 3);
  out.result.dispose();
  out.list[0].dispose();
  kept!.dispose();
  t.is(cpu.memory().liveBuffers, before);
});

test('1,000 small ops inside tidy leave the webgpu buffer pool flat', async (t) => {
  const gpu = (await gpuOrSkip(t)) ?? cpu;
  const w = r.tensor([0.5, -0.25, 1, 2], [4], { device: gpu, requiresGrad: true });
  const step = () =>
    r.tidy(() => {
      const loss = r.mean(r.square(r.sub(r.mul(w, 1.01), 0.3)));
      loss.backward();
      return null;
    });
  for (let i = 0; i < 10; i++) step(); // warm the pool
  await gpu.sync();
  const live = gpu.memory().liveBuffers;
  const pooled = gpu.memory().pooledBuffers;
  for (let i = 0; i < 100; i++) step(); // ~10 ops each forward+backward: > 1,000 ops
  await gpu.sync();
  t.is(gpu.memory().liveBuffers, live, 'live buffers');
  t.true(gpu.memory().pooledBuffers <= pooled + 8, `pooled ${gpu.memory().pooledBuffers} vs ${pooled}`);
  w.dispose();
});

test('a wrong backward rule is caught by gradcheck', async (t) => {
  // exp with the gradient of x², to show gradcheck fails when it should.
  const badExp = (x: r.Tensor) => runOp('exp', [x], {}, (dy, { inputs }) => [r.mul(dy, r.mul(inputs[0], 2))]);
  const x = r.tensor([0.3, -0.7, 1.1], [3], { device: cpu, dtype: 'float64', requiresGrad: true });
  const res = await r.gradcheck(badExp, [x]);
  t.false(res.ok);
  t.truthy(res.worst);
  t.true((await r.gradcheck(r.exp, [x])).ok);
});

test('gradients flow across devices only by explicit moves: mixing devices is an error', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const a = r.tensor([1], [1], { device: cpu });
  const b = r.tensor([1], [1], { device: gpu });
  t.throws(() => r.add(a, b), { message: /different devices/ });
});

test('float64 is refused on webgpu with a clear message', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  t.throws(() => r.tensor([1], [1], { device: gpu, dtype: 'float64' }), { message: /no float64/ });
});

test.after.always(async () => {
  await r.shutdown();
});
