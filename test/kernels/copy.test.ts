import test from 'ava';
import * as r from '../../src/index.js';
import { assertClose, bothDevices, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

const x6 = (device: r.Device, dtype: r.DType = 'float32') => r.tensor([[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]], undefined, { device, dtype });

test('reshape is a view sharing memory; -1 is inferred; bad sizes are refused', async (t) => {
  const x = x6(cpu);
  const y = r.reshape(x, [3, -1]);
  t.deepEqual(y.shape, [3, 4]);
  t.is(y.storage, x.storage);
  x.dispose();
  t.deepEqual(await values(y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'a view outlives the tensor it came from');
  t.throws(() => r.reshape(y, [5, 2]), { message: /cannot reshape \[3,4\]/ });
});

test('permute, transpose, slice, concat, stack, broadcastTo match on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = x6(device);
    t.deepEqual(await r.permute(x, [2, 0, 1]).array(), [[[0, 3], [6, 9]], [[1, 4], [7, 10]], [[2, 5], [8, 11]]], device.kind);
    t.deepEqual(await r.transpose(x).array(), [[[0, 3], [1, 4], [2, 5]], [[6, 9], [7, 10], [8, 11]]], device.kind);
    t.deepEqual(await r.slice(x, [1, 0, 1], [1, 2, -1]).array(), [[[7, 8], [10, 11]]], device.kind);
    t.deepEqual(await r.narrow(x, 2, 2, 1).array(), [[[2], [5]], [[8], [11]]], device.kind);
    const c = r.concat([r.slice(x, [0, 0, 0], [2, 2, 1]), r.slice(x, [0, 0, 1], [2, 2, 2])], 2);
    t.deepEqual(await values(c), await values(x), device.kind);
    t.deepEqual(r.stack([x, x], 1).shape, [2, 2, 2, 3]);
    t.deepEqual(await r.broadcastTo(r.tensor([1, 2, 3], [3, 1], { device }), [2, 3, 2]).array(), [[[1, 1], [2, 2], [3, 3]], [[1, 1], [2, 2], [3, 3]]], device.kind);
    t.deepEqual(await values(r.permute(x6(device, 'int32'), [1, 0, 2])), [0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11], `${device.kind} int32`);
  }
});

test('a permute that moves only axes of size 1 is a view of the same memory, with the values a copy would have', async (t) => {
  for (const device of await bothDevices(t)) {
    const x = r.tensor(randomValues(2 * 1 * 3 * 4, 3), [2, 1, 3, 4], { device });
    const y = r.permute(x, [0, 2, 1, 3]); // [B, 1, H, D] → [B, H, 1, D], a decoding step's head move
    t.deepEqual([...y.shape], [2, 3, 1, 4]);
    t.is(y.storage, x.storage, device.kind);
    t.deepEqual(await values(y), await values(x), device.kind);
    const z = r.permute(x, [3, 1, 0, 2]); // moves non-unit axes too: a copy
    t.not(z.storage, x.storage);
    t.deepEqual(await values(r.permute(z, [2, 1, 3, 0])), await values(x));
  }
});

test('strided copies agree with the cpu reference on random rank-4 tensors', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const shape = [3, 1, 7, 5];
  const v = randomValues(105, 8);
  const run = async (device: r.Device) => [
    await values(r.permute(r.tensor(v, shape, { device }), [3, 1, 0, 2])),
    await values(r.slice(r.tensor(v, shape, { device }), [1, 0, 2, 1], [2, 1, 4, 3])),
    await values(r.broadcastTo(r.tensor(v, shape, { device }), [2, 3, 4, 7, 5])),
    await values(r.concat([r.tensor(v, shape, { device }), r.tensor(v, shape, { device })], 2)),
  ];
  const [want, got] = [await run(cpu), await run(gpu)];
  want.forEach((w, i) => assertClose(t, got[i], w, { rtol: 0, atol: 0 }, `case ${i}`));
});

test('gradcheck: permute, slice, concat, broadcastTo, reshape, clone', async (t) => {
  const opt = { device: cpu, dtype: 'float64' as const, requiresGrad: true };
  const a = r.tensor(randomValues(24, 1), [2, 3, 4], opt);
  const b = r.tensor(randomValues(8, 2), [2, 1, 4], opt);
  const cases: [string, (...xs: r.Tensor[]) => r.Tensor, r.Tensor[]][] = [
    ['permute', (x) => r.permute(x, [2, 0, 1]), [a]],
    ['permute moving a unit axis (a view)', (y) => r.permute(y, [1, 0, 2]), [b]],
    ['slice', (x) => r.slice(x, [0, 1, 1], [2, 2, 2]), [a]],
    ['concat', (x, y) => r.concat([x, y], 1), [a, b]],
    ['broadcastTo', (y) => r.broadcastTo(y, [3, 2, 5, 4]), [b]],
    ['reshape+clone', (x) => r.clone(r.reshape(x, [4, 6])), [a]],
    ['transpose', (x) => r.transpose(x, 0, 2), [a]],
    ['narrow', (x) => r.narrow(x, 1, 1, 2), [a]],
    ['stack', (x, y) => r.stack([r.squeeze(y, 1), r.narrow(x, 1, 0, 1).squeeze(1)], 1), [a, b]],
    ['unsqueeze+flatten', (x) => r.flatten(r.unsqueeze(x, 1)), [a]],
  ];
  for (const [name, fn, inputs] of cases) {
    const res = await r.gradcheck(fn, inputs);
    t.true(res.ok, `${name}: ${JSON.stringify(res)}`);
  }
});

test('shape errors name the shapes', (t) => {
  const x = x6(cpu);
  t.throws(() => r.slice(x, [0, 0, 2], [1, 1, 2]), { message: /outside axis 2 of \[2,2,3\]/ });
  t.throws(() => r.concat([x, r.zeros([2, 3, 3], { device: cpu })], 0), { message: /differ off that axis/ });
  t.throws(() => r.broadcastTo(x, [2, 4, 3]), { message: /do not broadcast/ });
  t.throws(() => r.permute(x, [0, 0, 1]), { message: /not a permutation/ });
});

test.after.always(async () => {
  await r.shutdown();
});
