import test from 'ava';
import * as r from '../../src/index.js';
import { gpuOrSkip, values } from '../helpers/devices.js';
import { KERNELS_PER_QUERY_SET } from '../../src/device/webgpu/profiler.js';

test('profile() times each kernel on the GPU and returns the result', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  if (!gpu.canProfile) return void t.log('adapter has no timestamp-query');
  const a = r.randn([64, 48], { device: gpu });
  const b = r.randn([48, 32], { device: gpu });
  const t0 = performance.now();
  const { result, kernels } = await gpu.profile(() => r.tidy(() => r.softmax(r.add(r.matmul(a, b), 1))));
  const wall = performance.now() - t0;
  t.deepEqual(kernels.map((k) => k.name.split(' ')[0]), ['matmul', 'add', 'softmax']);
  for (const k of kernels) t.true(Number.isFinite(k.ms) && k.ms >= 0, `${k.name}: ${k.ms}`);
  t.true(kernels.reduce((s, k) => s + k.ms, 0) <= wall, 'kernel time within the wall time');
  t.deepEqual(result.shape, [64, 32]);
  // The normal path (one shared pass) works again afterwards, and values are right.
  const row = (await values(r.sum(result, 1))).map((v) => Math.round(v * 1e5) / 1e5);
  t.deepEqual(row, new Array(64).fill(1));
  for (const x of [a, b, result]) x.dispose();
});

test('profile() with no kernels, nested profiles, and a full profile', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu || !gpu.canProfile) return;
  t.deepEqual((await gpu.profile(() => 42)).kernels, []);
  let inner: Promise<unknown> | undefined;
  await gpu.profile(() => {
    inner = gpu.profile(() => 1);
  });
  await t.throwsAsync(inner!, { message: /cannot nest/ });
  const x = r.ones([8], { device: gpu });
  await t.throwsAsync(gpu.profile(() => r.tidy(() => r.add(r.add(x, 1), 1)), 1), { message: /profile is full \(1 kernels\)/ });
  t.deepEqual(await values(r.add(x, 1)), new Array(8).fill(2), 'the device still works');
  x.dispose();
});

test('profile() chains query sets past 2048 kernels (a whole training step)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu || !gpu.canProfile) return;
  const x = r.ones([8], { device: gpu });
  const n = KERNELS_PER_QUERY_SET + 5;
  const { result, kernels } = await gpu.profile(() => {
    let y = x;
    for (let i = 0; i < n; i++) {
      const next = r.add(y, 1);
      if (y !== x) y.dispose();
      y = next;
    }
    return y;
  });
  t.is(kernels.length, n);
  t.true(kernels.every((k) => k.name === kernels[0].name && Number.isFinite(k.ms) && k.ms >= 0), JSON.stringify(kernels.slice(-3)));
  t.deepEqual(await values(result), new Array(8).fill(1 + n), 'every kernel ran once, in order');
  result.dispose();
  x.dispose();
});

test.after.always(async () => {
  await r.shutdown();
});
