import test from 'ava';
import { readFileSync } from 'node:fs';
import * as r from '../../src/index.js';
import { cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

// Hash values and masks computed in Python with explicit mod-2³² arithmetic (make_dropout_golden.py).
const GOLDEN = JSON.parse(readFileSync(new URL('../../../test/kernels/golden/dropout.json', import.meta.url), 'utf8')) as {
  mix32: Record<string, number>;
  masks: { seed: number; n: number; p: number; keep: number[] }[];
};

test('mix32 and the masks match the Python golden values', async (t) => {
  for (const [x, want] of Object.entries(GOLDEN.mix32)) t.is(r.mix32(Number(x)), want, `mix32(${x})`);
  for (const m of GOLDEN.masks) {
    const ones = r.ones([m.n], { device: cpu, dtype: 'float64' });
    const got = await values(r.dropout(ones, m.p, m.seed));
    t.deepEqual(got.map((v) => (v === 0 ? 0 : 1)), m.keep, `seed ${m.seed} p ${m.p}`);
    t.true(got.every((v) => v === 0 || v === 1 / (1 - m.p)), 'kept values scaled by 1/(1 − p)');
  }
});

test('webgpu dropout equals the cpu reference bit for bit (mask and scaled values)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [n, p, seed] of [[1, 0.5, 3], [1000, 0.1, 7], [300001, 0.5, 12345], [4097, 0.9, 0xffffffff]] as const) {
    const v = randomValues(n, n, -2, 2).map(Math.fround);
    const want = await values(r.dropout(r.tensor(v, [n], { device: cpu }), p, seed));
    const got = await values(r.dropout(r.tensor(v, [n], { device: gpu }), p, seed));
    t.deepEqual(got, want, `n ${n} p ${p} seed ${seed}`);
  }
});

test('the share dropped is p; seeds give different masks; p = 0 is the identity', async (t) => {
  const n = 100000;
  const ones = r.ones([n], { device: cpu });
  for (const p of [0.05, 0.5]) {
    const dropped = (await values(r.dropout(ones, p, 1))).filter((v) => v === 0).length / n;
    t.true(Math.abs(dropped - p) < 4 * Math.sqrt((p * (1 - p)) / n), `p ${p}: dropped ${dropped}`);
  }
  const [a, b] = [await values(r.dropout(ones, 0.5, 1)), await values(r.dropout(ones, 0.5, 2))];
  t.true(a.filter((v, i) => v !== b[i]).length > n * 0.4, 'another seed, another mask');
  t.is(r.dropout(ones, 0, 1), ones);
});

test('dropout: its gradient is dy through the same mask; gradcheck', async (t) => {
  const x = r.tensor(randomValues(40, 2, -1, 1), [5, 8], { device: cpu, dtype: 'float64', requiresGrad: true });
  const y = r.dropout(x, 0.3, 99);
  const dy = r.tensor(randomValues(40, 3, -1, 1), [5, 8], { device: cpu, dtype: 'float64' });
  r.sum(r.mul(y, dy)).backward();
  const [yv, gv, dyv, xv] = [await values(y), await values(x.grad!), await values(dy), await values(x)];
  for (let i = 0; i < 40; i++) t.is(gv[i], yv[i] === 0 ? 0 : dyv[i] * (1 / 0.7), `element ${i}: kept ${yv[i] !== 0} (x ${xv[i]})`);
  const res = await r.gradcheck((a) => r.dropout(a, 0.3, 99), [x]);
  t.true(res.ok, JSON.stringify(res));
});

test('dropout refuses a bad p, seed or dtype', (t) => {
  const x = r.ones([3], { device: cpu });
  t.throws(() => r.dropout(x, 1, 0), { message: /p must be in \[0, 1\), got 1/ });
  t.throws(() => r.dropout(x, -0.1, 0), { message: /p must be in \[0, 1\)/ });
  t.throws(() => r.dropout(x, 0.5, 1.5), { message: /seed must be a 32-bit unsigned integer/ });
  t.throws(() => r.dropout(r.tensor([1, 2], [2], { device: cpu, dtype: 'int32' }), 0.5, 0), { message: /float tensor/ });
});

test.after.always(async () => {
  await r.shutdown();
});
