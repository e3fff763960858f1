// The decoding kernels (src/kernels/decode): cacheWrite against concatenation, decodeAttention
// against its composition of existing ops (the attention the model ran before) on both devices, at
// head dims that take the vec4 and scalar paths and more lanes than a workgroup has, more columns
// than threads, grouped-query heads, masks with gaps, and a row that sees nothing.
import test from 'ava';
import * as r from '../../src/index.js';
import { assertMaxRel, bothDevices, cpu, gpuOrSkip, randomValues, rng, values } from '../helpers/devices.js';


interface Case { B: number; H: number; Hkv: number; C: number; L: number; D: number }

const CASES: Case[] = [
  { B: 3, H: 4, Hkv: 2, C: 20, L: 13, D: 8 },
  { B: 2, H: 3, Hkv: 3, C: 9, L: 9, D: 6 },
  { B: 1, H: 6, Hkv: 2, C: 700, L: 600, D: 16 },
  { B: 2, H: 2, Hkv: 1, C: 40, L: 33, D: 80 },
  { B: 1, H: 2, Hkv: 2, C: 12, L: 5, D: 300 },
];

/** A 0/1 mask with gaps (right padding, a window), every row seeing at least one column. */
function mask(B: number, L: number, seed: number): number[] {
  const u = rng(seed);
  return Array.from({ length: B * L }, (_, i) => (i % L === L - 1 || u() < 0.6 ? 1 : 0));
}

const inputs = (c: Case, device: r.Device, dtype: 'float32' | 'float64', seed: number) => [
  r.tensor(randomValues(c.B * c.H * c.D, seed), [c.B, c.H, 1, c.D], { device, dtype }),
  r.tensor(randomValues(c.B * c.Hkv * c.C * c.D, seed + 1, -2, 2), [c.B, c.Hkv, c.C, c.D], { device, dtype }),
  r.tensor(randomValues(c.B * c.Hkv * c.C * c.D, seed + 2), [c.B, c.Hkv, c.C, c.D], { device, dtype }),
  r.tensor(mask(c.B, c.L, seed + 3), [c.B, c.L], { device, dtype }),
];

test('decodeAttention (every WebGPU version) matches its composition (narrow, indexSelect, matmul, masked softmax, matmul) on both devices', async (t) => {
  for (const [k, c] of CASES.entries()) {
    const want = await values(r.tidy(() => r.decodeAttentionUnfused(...(inputs(c, cpu, 'float64', 10 * k) as [r.Tensor, r.Tensor, r.Tensor, r.Tensor]))));
    for (const device of await bothDevices(t)) {
      const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
      for (const { version } of device.kind === 'cpu' ? [{ version: 0 }] : r.DECODE_ATTENTION_VERSIONS) {
        const [q, kc, vc, vis] = inputs(c, device, dtype, 10 * k);
        const got = r.tidy(() => r.decodeAttention(q, kc, vc, vis, undefined, version));
        t.deepEqual([...got.shape], [c.B, c.H, 1, c.D]);
        assertMaxRel(t, await values(got), want, device.kind === 'cpu' ? 1e-12 : 2e-5, `${device.kind} v${version} ${JSON.stringify(c)}`);
        for (const z of [got, q, kc, vc, vis]) z.dispose();
      }
    }
  }
});

test('decodeAttention: a row that sees no column outputs zeros; a custom scale is used', async (t) => {
  for (const device of await bothDevices(t)) {
    const c = { B: 2, H: 2, Hkv: 1, C: 6, L: 6, D: 4 };
    const [q, k, v] = inputs(c, device, 'float32', 7);
    const visible = r.tensor([0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1], [2, 6], { device });
    const o = await values(r.decodeAttention(q, k, v, visible, 0.3));
    t.deepEqual(Array.from(o.slice(0, 8)), new Array(8).fill(0), `${device.kind}: row 0 sees nothing`);
    const want = await values(r.narrow(r.decodeAttentionUnfused(q, k, v, visible, 0.3), 0, 1, 1));
    assertMaxRel(t, o.slice(8), want, 1e-5, `${device.kind}: row 1, scale 0.3`);
  }
});

test('decodeAttention v2 (columns split across workgroups, then merged): chunks that see nothing, a last chunk of one column, a row that sees nothing', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const c = { B: 3, H: 4, Hkv: 2, C: 520, L: 513, D: 16 };
  // Row 0 sees columns 300 on (chunk 0 hidden, chunk 1 in part), row 1 only the last column (chunk
  // 2 holds only it), row 2 nothing.
  const vis = Array.from({ length: c.B * c.L }, (_, i) => {
    const [b, j] = [Math.floor(i / c.L), i % c.L];
    return b === 0 ? (j >= 300 ? 1 : 0) : b === 1 ? (j === c.L - 1 ? 1 : 0) : 0;
  });
  const make = (device: r.Device, dtype: 'float32' | 'float64') => {
    const [q, k, v] = inputs(c, device, dtype, 40);
    return [q, k, v, r.tensor(vis, [c.B, c.L], { device, dtype })] as [r.Tensor, r.Tensor, r.Tensor, r.Tensor];
  };
  const want = await values(r.decodeAttention(...make(cpu, 'float64')));
  const got = await values(r.decodeAttention(...make(gpu, 'float32'), undefined, 2));
  const perRow = c.H * c.D;
  assertMaxRel(t, got.slice(0, 2 * perRow), want.slice(0, 2 * perRow), 2e-5, 'rows 0 and 1');
  t.deepEqual(Array.from(got.slice(2 * perRow)), new Array(perRow).fill(0), 'row 2 sees nothing: zeros');
});

test('decodeAttention with a softcap (options object) matches its composition (tanh) on both devices, every WebGPU version, head_dim 256 included', async (t) => {
  const cases: Case[] = [CASES[0], CASES[3], { B: 2, H: 4, Hkv: 2, C: 30, L: 23, D: 256 }];
  for (const [k, c] of cases.entries()) {
    for (const opts of [{ softcap: 0.8 }, { softcap: 50, scale: 2 }]) {
      const want = await values(r.tidy(() => r.decodeAttentionUnfused(...(inputs(c, cpu, 'float64', 5 * k) as [r.Tensor, r.Tensor, r.Tensor, r.Tensor]), opts)));
      for (const device of await bothDevices(t)) {
        const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
        for (const { version } of device.kind === 'cpu' ? [{ version: 0 }] : r.DECODE_ATTENTION_VERSIONS) {
          const [q, kc, vc, vis] = inputs(c, device, dtype, 5 * k);
          const got = r.tidy(() => r.decodeAttention(q, kc, vc, vis, { ...opts, version }));
          assertMaxRel(t, await values(got), want, device.kind === 'cpu' ? 1e-12 : 2e-5, `${device.kind} v${version} ${JSON.stringify(opts)} ${JSON.stringify(c)}`);
          for (const z of [got, q, kc, vc, vis]) z.dispose();
        }
      }
    }
  }
});

test('decodeAttention with scale and softcap equals the last row of the full attention (causal, padding, window, GQA, head_dim 256)', async (t) => {
  for (const { B, H, Hkv, T, D, window } of [{ B: 2, H: 4, Hkv: 2, T: 13, D: 16, window: 0 }, { B: 2, H: 4, Hkv: 2, T: 19, D: 256, window: 7 }]) {
    const lengths = [T - 4, T];
    const opts = { scale: 0.3, softcap: 1.5 };
    for (const device of await bothDevices(t)) {
      const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
      const q = r.tensor(randomValues(B * H * T * D, 1), [B, H, T, D], { device, dtype });
      const k = r.tensor(randomValues(B * Hkv * T * D, 2, -2, 2), [B, Hkv, T, D], { device, dtype });
      const v = r.tensor(randomValues(B * Hkv * T * D, 3), [B, Hkv, T, D], { device, dtype });
      const keyPadding = r.tensor(lengths, [B], { device, dtype: 'int32' });
      const full = r.attention(q, k, v, { ...opts, keyPadding, ...(window ? { window } : {}) });
      const want = await values(r.narrow(full, 2, T - 1, 1));
      // The last query (position T − 1) sees the keys j < length with j > T − 1 − window.
      const vis = Array.from({ length: B * T }, (_, i) => {
        const [b, j] = [Math.floor(i / T), i % T];
        return j < lengths[b] && (!window || j > T - 1 - window) ? 1 : 0;
      });
      const got = await values(r.decodeAttention(r.narrow(q, 2, T - 1, 1), k, v, r.tensor(vis, [B, T], { device, dtype }), opts));
      assertMaxRel(t, got, want, device.kind === 'cpu' ? 1e-12 : 2e-5, `${device.kind} D ${D}`);
    }
  }
});

test('decodeAttention refuses inputs that want a gradient, and names the shapes that do not fit', (t) => {
  const c = { B: 1, H: 2, Hkv: 1, C: 4, L: 4, D: 4 };
  const [q, k, v, vis] = inputs(c, cpu, 'float32', 1);
  const qg = r.tensor(randomValues(8, 2), [1, 2, 1, 4], { device: cpu, requiresGrad: true });
  t.throws(() => r.decodeAttention(qg, k, v, vis), { message: /no gradient/ });
  t.notThrows(() => r.noGrad(() => r.decodeAttention(qg, k, v, vis)));
  t.throws(() => r.decodeAttention(q, k, v, r.tensor(new Array(5).fill(1), [1, 5], { device: cpu })), { message: /visible \[1,5\]/ });
  t.throws(() => r.decodeAttention(r.reshape(q, [1, 2, 4]) as r.Tensor, k, v, vis), { message: /4-D/ });
  t.throws(() => r.decodeAttention(q, k, v, vis, { softcap: Number.NaN }), { message: /decodeAttention: softcap must be a finite number ≥ 0/ });
});

test('cacheWrite writes columns in place, as a concatenation would place them, on both devices', async (t) => {
  for (const device of await bothDevices(t)) {
    const cache = r.zeros([2, 3, 7, 5], { device });
    const first = r.tensor(randomValues(2 * 3 * 4 * 5, 1), [2, 3, 4, 5], { device });
    const next = r.tensor(randomValues(2 * 3 * 1 * 5, 2), [2, 3, 1, 5], { device });
    r.cacheWrite(cache, first, 0);
    r.cacheWrite(cache, next, 4);
    const want = r.concat([first, next, r.zeros([2, 3, 2, 5], { device })], 2);
    t.deepEqual(Array.from(await values(cache)), Array.from(await values(want)), device.kind);
    t.throws(() => r.cacheWrite(cache, first, 4), { message: /does not fit cache \[2,3,7,5\] at column 4/ });
    // Two caches (a layer's keys and values) in one launch.
    const pair = [r.zeros([2, 3, 7, 5], { device }), r.zeros([2, 3, 7, 5], { device })];
    r.cacheWrite(pair, [first, r.neg(first)], 2);
    const placed = r.concat([r.zeros([2, 3, 2, 5], { device }), first, r.zeros([2, 3, 1, 5], { device })], 2);
    t.deepEqual(Array.from(await values(pair[0])), Array.from(await values(placed)), `${device.kind}: the first of a pair`);
    const negPlaced = r.concat([r.zeros([2, 3, 2, 5], { device }), r.neg(first), r.zeros([2, 3, 1, 5], { device })], 2);
    t.deepEqual(Array.from(await values(pair[1])), Array.from(await values(negPlaced)), `${device.kind}: the second of a pair`);
    t.throws(() => r.cacheWrite(pair, [first, next], 2), { message: /one shape/ });
  }
});

test('rotateAndCache is applyRopePair then cacheWrite, bit for bit, on both devices: GQA, partial rotary dims, several columns, positions per row or shared', async (t) => {
  const cases = [
    { B: 3, H: 4, Hkv: 2, n: 1, D: 8, rotaryDim: 8, C: 9, offset: 5, perBatch: true },
    { B: 2, H: 3, Hkv: 3, n: 4, D: 10, rotaryDim: 6, C: 7, offset: 2, perBatch: false },
    { B: 1, H: 6, Hkv: 2, n: 1, D: 64, rotaryDim: 64, C: 300, offset: 299, perBatch: true },
  ];
  for (const [i, c] of cases.entries()) {
    const freqs = r.ropeFrequencies({ rope_theta: 10000, head_dim: c.rotaryDim });
    for (const device of await bothDevices(t)) {
      const make = () => {
        const pos = Array.from({ length: c.perBatch ? c.B * c.n : c.n }, (_, j) => 3 * j + 100 * i + 1);
        return {
          q: r.tensor(randomValues(c.B * c.H * c.n * c.D, 10 * i), [c.B, c.H, c.n, c.D], { device }),
          k: r.tensor(randomValues(c.B * c.Hkv * c.n * c.D, 10 * i + 1), [c.B, c.Hkv, c.n, c.D], { device }),
          v: r.tensor(randomValues(c.B * c.Hkv * c.n * c.D, 10 * i + 2), [c.B, c.Hkv, c.n, c.D], { device }),
          caches: [0, 1].map((j) => r.tensor(randomValues(c.B * c.Hkv * c.C * c.D, 10 * i + 3 + j), [c.B, c.Hkv, c.C, c.D], { device })),
          pos: r.tensor(Int32Array.from(pos), c.perBatch ? [c.B, c.n] : [c.n], { device, dtype: 'int32' }),
          inv: r.ropeInvFreqTensor(freqs, { device }),
        };
      };
      const a = make(), b = make();
      const [qWant, kWant] = r.applyRopePair(a.q, a.k, a.pos, a.inv, c.rotaryDim);
      r.cacheWrite(a.caches, [kWant, a.v], c.offset);
      const q = r.rotateAndCache(b.q, b.k, b.v, b.caches[0], b.caches[1], c.offset, b.pos, b.inv, c.rotaryDim);
      const where = `${device.kind}, case ${i}`;
      t.deepEqual(Array.from(await values(q)), Array.from(await values(qWant)), `${where}: queries`);
      t.deepEqual(Array.from(await values(b.caches[0])), Array.from(await values(a.caches[0])), `${where}: key cache`);
      t.deepEqual(Array.from(await values(b.caches[1])), Array.from(await values(a.caches[1])), `${where}: value cache`);
      t.throws(() => r.rotateAndCache(b.q, b.k, b.v, b.caches[0], b.caches[1], c.C - c.n + 1, b.pos, b.inv, c.rotaryDim), { message: /does not fit cache/ });
      const wants = r.tensor(randomValues(c.B * c.H * c.n * c.D, 1), [c.B, c.H, c.n, c.D], { device, requiresGrad: true });
      t.throws(() => r.rotateAndCache(wants, b.k, b.v, b.caches[0], b.caches[1], c.offset, b.pos, b.inv, c.rotaryDim), { message: /no gradient/ });
    }
  }
});
