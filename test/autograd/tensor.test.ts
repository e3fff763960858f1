import test from 'ava';
import * as r from '../../src/index.js';
import { cpu, gpuOrSkip } from '../helpers/devices.js';

test('tensor() infers shapes from nested arrays and checks them', async (t) => {
  const x = r.tensor([[1, 2, 3], [4, 5, 6]], undefined, { device: cpu });
  t.deepEqual(x.shape, [2, 3]);
  t.is(x.dtype, 'float32');
  t.deepEqual(await x.array(), [[1, 2, 3], [4, 5, 6]]);
  t.deepEqual((r.tensor(3, undefined, { device: cpu })).shape, []);
  t.is(await r.tensor(3, undefined, { device: cpu }).item(), 3);
  t.throws(() => r.tensor([[1, 2], [3]], undefined, { device: cpu }), { message: /not rectangular/ });
  t.throws(() => r.tensor([1, 2, 3], [2, 2], { device: cpu }), { message: /3 values do not fill shape \[2,2\]/ });
  t.throws(() => r.tensor([1, 2], [2], { device: cpu, dtype: 'int32', requiresGrad: true }), { message: /only float tensors/ });
});

test('creation helpers on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    t.deepEqual(Array.from(await r.zeros([2, 2], { device }).data()), [0, 0, 0, 0]);
    t.deepEqual(Array.from(await r.full([3], 2.5, { device }).data()), [2.5, 2.5, 2.5]);
    t.deepEqual(Array.from(await r.arange(5, undefined, 1, { device }).data()), [0, 1, 2, 3, 4]);
    t.is(r.ones([1], { device, dtype: 'int32' }).dtype, 'int32');
  }
  r.manualSeed(7);
  const a = Array.from(await r.randn([1000], { device: cpu }).data());
  r.manualSeed(7);
  const b = Array.from(await r.randn([1000], { device: cpu }).data());
  t.deepEqual(a, b, 'manualSeed repeats randn');
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  t.true(Math.abs(mean) < 0.1 && Math.abs(sd - 1) < 0.1, `mean ${mean} sd ${sd}`);
});

test('init() honours RELPO_DEVICE and reports the device', async (t) => {
  const dev = await r.init({ device: 'cpu', quiet: true });
  t.is(dev.kind, 'cpu');
  t.is(r.getDefaultDevice(), dev);
  const saved = process.env.RELPO_DEVICE;
  process.env.RELPO_DEVICE = 'tpu';
  await t.throwsAsync(r.init({ quiet: true }), { message: /RELPO_DEVICE must be webgpu, cpu or auto/ });
  process.env.RELPO_DEVICE = saved;
  const gpu = await gpuOrSkip(t);
  if (gpu) {
    const d = await r.init({ device: 'webgpu', quiet: true });
    t.is(d.kind, 'webgpu');
    t.regex(d.description, /^webgpu: /);
  }
});

test.after.always(async () => {
  await r.shutdown();
});
