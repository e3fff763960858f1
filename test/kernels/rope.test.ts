import test from 'ava';
import { readFileSync } from 'node:fs';
import * as r from '../../src/index.js';
import { applyRope, ropeCost } from '../../src/kernels/rope/index.js';
import { ropeFrequencies, ropeInvFreqTensor, type RopeConfig } from '../../src/models/rope-config.js';
import { assertClose, bothDevices, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

interface GoldenCase {
  name: string;
  config: RopeConfig;
  rotary_dim: number;
  head_dim: number;
  inv_freq_f64: number[];
  inv_freq_f32: number[];
  x_shape: number[];
  x: number[];
  positions_shape: number[];
  positions: number[];
  y: number[];
}
/** Written by test/kernels/golden/make_rope_golden.py (transformers' formulas in plain torch). */
const golden: { cases: GoldenCase[] } = JSON.parse(readFileSync(new URL('../../../test/kernels/golden/rope.json', import.meta.url), 'utf8'));

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const ints = (v: number[], shape: number[], device: r.Device) => r.tensor(v, shape, { device, dtype: 'int32' });

for (const c of golden.cases) {
  test(`ropeFrequencies matches transformers: ${c.name}`, (t) => {
    const f = ropeFrequencies(c.config);
    t.is(f.rotaryDim, c.rotary_dim);
    t.is(f.headDim, c.head_dim);
    t.is(f.attentionScaling, 1);
    // The float64 transcription: the same formulas, rounded where torch's float32 ops round.
    assertClose(t, f.invFreq, c.inv_freq_f64, { rtol: 3e-7, atol: 0 }, 'inv_freq float64');
    // transformers' own float32 computation: within a float32 ulp.
    assertClose(t, Array.from(f.invFreq, Math.fround), c.inv_freq_f32, { rtol: 1.2e-7, atol: 0 }, 'inv_freq float32');
  });

  test(`applyRope matches transformers' apply_rotary_pos_emb: ${c.name}`, async (t) => {
    const gpu = await gpuOrSkip(t);
    const devices: [r.Device, 'float32' | 'float64'][] = [[cpu, 'float64'], [cpu, 'float32']];
    if (gpu) devices.push([gpu, 'float32']);
    for (const [device, dtype] of devices) {
      const x = r.tensor(c.x, c.x_shape, { device, dtype });
      const pos = ints(c.positions, c.positions_shape, device);
      // The very float32 inv_freq transformers used: at position 131071 one ulp of inv_freq moves
      // the angle by 0.008 rad, so the kernel is checked apart from the frequency formulas.
      const inv = r.tensor(c.inv_freq_f32, [c.inv_freq_f32.length], { device, dtype });
      const y = applyRope(x, pos, inv, c.rotary_dim);
      // transformers rounds cos, sin and each product to float32: a few 1e-7 on values of O(1).
      assertClose(t, await values(y), c.y, { rtol: 1e-6, atol: 1e-6 }, `${device.kind} ${dtype}`);
    }
  });
}

/** Awkward shapes: [B, H, T, D], rotary dims, positions per batch or shared. */
const CASES: { shape: number[]; rotaryDim: number; perBatch: boolean }[] = [
  { shape: [1, 1, 1, 2], rotaryDim: 2, perBatch: false },
  { shape: [1, 1, 7, 6], rotaryDim: 4, perBatch: true },
  { shape: [2, 3, 33, 8], rotaryDim: 8, perBatch: true },
  { shape: [2, 1, 5, 10], rotaryDim: 2, perBatch: false },
  { shape: [1, 2, 577, 4], rotaryDim: 4, perBatch: false },
  { shape: [1, 1, 2049, 6], rotaryDim: 4, perBatch: true },
  { shape: [3, 2, 3, 64], rotaryDim: 64, perBatch: true },
  { shape: [1, 1, 2, 130], rotaryDim: 96, perBatch: false },
];

function ropeInputs(shape: number[], rotaryDim: number, perBatch: boolean, seed: number, device: r.Device, maxPos = 5000) {
  const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
  const [b, , s] = shape;
  const posShape = perBatch ? [b, s] : [s];
  const pos = randomValues(size(posShape), seed + 1, 0, maxPos).map(Math.floor);
  const freqs = ropeFrequencies({ rope_theta: 10000, head_dim: rotaryDim });
  return {
    x: r.tensor(randomValues(size(shape), seed, -2, 2).map(Math.fround), shape, { device, dtype, requiresGrad: true }),
    pos: ints(pos, posShape, device),
    // float32 on both devices (the cpu kernel takes any float inv_freq and rounds it to float32).
    inv: ropeInvFreqTensor(freqs, { device }),
  };
}

test('applyRope: webgpu matches the cpu reference on awkward shapes', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [k, { shape, rotaryDim, perBatch }] of CASES.entries()) {
    const a = ropeInputs(shape, rotaryDim, perBatch, 20 + k, cpu);
    const want = await values(applyRope(a.x, a.pos, a.inv, rotaryDim));
    const g = ropeInputs(shape, rotaryDim, perBatch, 20 + k, gpu);
    const got = applyRope(g.x, g.pos, g.inv, rotaryDim);
    t.deepEqual(got.shape, shape);
    assertClose(t, await values(got), want, { rtol: 1e-6, atol: 1e-6 }, `[${shape}] rotary ${rotaryDim}`);
  }
});

test('applyRope on webgpu: cos and sin stay accurate for angles up to 2·10⁵ rad', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  // inv_freq 1 makes the angle the position itself; both devices use the same float32 angle.
  const seq = 4001;
  const pos = Array.from({ length: seq }, (_, i) => (i < 2000 ? i * 50 : 100000 + (i - 2000) * 53));
  const inv = [1, 0.5, 1e-3];
  const x = Array.from({ length: seq * 6 }, (_, i) => (i % 6 < 3 ? 1 : 0));
  const run = async (device: r.Device) => values(applyRope(r.tensor(x, [1, 1, seq, 6], { device }), ints(pos, [seq], device), r.tensor(inv, [3], { device })));
  // With x = (1, 1, 1, 0, 0, 0) the output is (cos θ, cos θ, cos θ, sin θ, sin θ, sin θ).
  assertClose(t, await run(gpu), await run(cpu), { rtol: 0, atol: 3e-7 }, 'cos/sin of large angles');
});

test('applyRope is Hugging Face rotate-half: y = x·cos + rotate_half(x)·sin, partial dims pass through', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = [1, 2, 3, 4, 5, 6];
    const inv = [1, 0.5];
    const y = await values(applyRope(r.tensor(x, [1, 1, 1, 6], { device }), ints([3], [1], device), r.tensor(inv, [2], { device }), 4));
    const [c0, s0, c1, s1] = [Math.cos(3), Math.sin(3), Math.cos(1.5), Math.sin(1.5)];
    const want = [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1, 5, 6];
    assertClose(t, y, want, { rtol: 0, atol: 1e-6 }, device.kind);
  }
});

test('applyRope: position 0 is the identity and the inverse rotation undoes it', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const a = ropeInputs([2, 2, 9, 12], 8, true, 3, device);
    const back = applyRope(applyRope(a.x, a.pos, a.inv, 8), a.pos, a.inv, 8, true);
    assertClose(t, await values(back), await values(a.x), { rtol: 0, atol: 1e-6 }, `${device.kind} inverse`);
    const zero = applyRope(a.x, ints(new Array(9).fill(0), [9], device), a.inv, 8);
    t.deepEqual(await values(zero), await values(a.x), `${device.kind} position 0`);
  }
});

for (const { shape, rotaryDim, perBatch } of [
  { shape: [1, 1, 1, 2], rotaryDim: 2, perBatch: false },
  { shape: [2, 2, 3, 6], rotaryDim: 4, perBatch: true },
  { shape: [1, 3, 2, 4], rotaryDim: 4, perBatch: false },
]) {
  test(`applyRope: gradcheck [${shape}] rotary ${rotaryDim}`, async (t) => {
    const a = ropeInputs(shape, rotaryDim, perBatch, 9, cpu);
    const res = await r.gradcheck((x) => applyRope(x, a.pos, a.inv, rotaryDim), [a.x]);
    t.true(res.ok, JSON.stringify(res));
  });
}

test('applyRope: the webgpu gradient matches the cpu gradient', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const grad = async (device: r.Device) => {
    const a = ropeInputs([2, 3, 17, 10], 8, true, 5, device);
    const w = r.tensor(randomValues(size([2, 3, 17, 10]), 6), [2, 3, 17, 10], { device, dtype: a.x.dtype });
    r.tidy(() => r.sum(r.mul(applyRope(a.x, a.pos, a.inv, 8), w)).backward());
    return values(a.x.grad!);
  };
  assertClose(t, await grad(gpu), await grad(cpu), { rtol: 1e-6, atol: 1e-6 }, 'dx');
});

test('ropeFrequencies: formulas, defaults and errors', (t) => {
  // LLaMA-2-7B: head_dim = 4096 / 32, theta 10000.
  const f = ropeFrequencies({ hidden_size: 4096, num_attention_heads: 32, rope_theta: 10000 });
  t.is(f.rotaryDim, 128);
  t.is(f.invFreq[0], 1);
  // Rounded as torch's float32 ops round: 2i/dim, base^that, 1/that.
  t.is(f.invFreq[1], Math.fround(1 / Math.fround(10000 ** Math.fround(2 / 128))));
  t.is(f.ropeType, 'default');
  // rope_theta defaults to 10000; linear divides by the factor; head_dim beats hidden/heads.
  t.deepEqual(ropeFrequencies({ hidden_size: 64, num_attention_heads: 4 }).invFreq, ropeFrequencies({ head_dim: 16, rope_theta: 10000 }).invFreq);
  const lin = ropeFrequencies({ head_dim: 8, rope_theta: 100, rope_scaling: { rope_type: 'linear', factor: 2 } });
  t.deepEqual(Array.from(lin.invFreq), [0.5, Math.fround(1 / Math.fround(100 ** 0.25)) / 2, Math.fround(1 / 100 ** 0.5) / 2, Math.fround(1 / Math.fround(100 ** 0.75)) / 2]);
  t.is(ropeFrequencies({ head_dim: 32, hidden_size: 4096, num_attention_heads: 32 }).headDim, 32);
  // llama3: high frequencies (short wavelengths) are kept, low ones divided by the factor.
  const l3 = ropeFrequencies({ head_dim: 128, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
  const plain = ropeFrequencies({ head_dim: 128, rope_theta: 500000 });
  t.is(l3.invFreq[0], plain.invFreq[0]);
  t.is(l3.invFreq[63], plain.invFreq[63] / 8);
  const inv = ropeInvFreqTensor(f, { device: cpu });
  t.is(inv.dtype, 'float32');
  t.deepEqual(inv.shape, [64]);
  t.throws(() => ropeFrequencies({ head_dim: 64, rope_scaling: { rope_type: 'yarn', factor: 4 } }), { message: /'yarn' is not supported/ });
  t.throws(() => ropeFrequencies({ head_dim: 10, partial_rotary_factor: 0.5 }), { message: /int\(10 · 0.5\) = 5 must be even/ });
  t.throws(() => ropeFrequencies({ hidden_size: 64 }), { message: /num_attention_heads/ });
  t.throws(() => ropeFrequencies({ head_dim: 64, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position_embeddings: 8192 } }), { message: /low_freq_factor < high_freq_factor/ });
  t.throws(() => ropeFrequencies({ head_dim: 64, rope_scaling: { type: 'linear' } }), { message: /rope_scaling.factor must be a positive number/ });
});

test('applyRope: shape errors', (t) => {
  const x = r.zeros([1, 2, 3, 8], { device: cpu });
  const inv = r.ones([4], { device: cpu });
  const pos = ints([0, 1, 2], [3], cpu);
  t.throws(() => applyRope(r.zeros([2, 3, 8], { device: cpu }), pos, inv), { message: /\[batch, heads, seq, head_dim\]/ });
  t.throws(() => applyRope(x, ints([0, 1], [2], cpu), inv), { message: /positions must be \[1, 3\] or \[3\]/ });
  t.throws(() => applyRope(x, r.zeros([3], { device: cpu }), inv), { message: /positions must be int32/ });
  t.throws(() => applyRope(x, pos, inv, 6), { message: /invFreq must be \[rotaryDim \/ 2\] = \[3\]/ });
  t.throws(() => applyRope(x, pos, r.ones([5], { device: cpu })), { message: /rotaryDim must be even, ≥ 2 and ≤ head_dim 8, got 10/ });
});

test('cost: FLOPs and compulsory bytes', (t) => {
  t.deepEqual(ropeCost([2, 3, 5, 8], 4, 'float32'), { flops: 9 * 30 * 2, bytes: 2 * 240 * 4 + 4 * 10 + 8 });
  t.deepEqual(ropeCost([2, 3, 5, 8], 8, 'float32', false), { flops: 9 * 30 * 4, bytes: 2 * 240 * 4 + 4 * 5 + 16 });
});

test.after.always(async () => {
  await r.shutdown();
});

test('applyRopePair rotates queries and keys as two applyRope calls do, bit for bit; one kernel without a graph', async (t) => {
  for (const device of await bothDevices(t)) {
    // [B, H_q, T, D], H_k, rotaryDim, positions per batch.
    for (const [[B, Hq, T, D], Hk, R, perBatch] of [[[2, 4, 3, 8], 2, 8, true], [[1, 3, 5, 6], 1, 4, false], [[3, 2, 1, 16], 2, 16, true]] as [number[], number, number, boolean][]) {
      const make = (shape: number[], seed: number, requiresGrad = false) => r.tensor(randomValues(size(shape), seed).map(Math.fround), shape, { device, requiresGrad });
      const pos = ints(Array.from({ length: perBatch ? B * T : T }, (_, i) => (i * 37) % 4000), perBatch ? [B, T] : [T], device);
      const inv = r.tensor(Array.from({ length: R / 2 }, (_, j) => Math.fround(10000 ** (-2 * j / R))), [R / 2], { device });
      const q = make([B, Hq, T, D], 1), k = make([B, Hk, T, D], 2);
      const [qr, kr] = r.noGrad(() => r.applyRopePair(q, k, pos, inv, R));
      const what = `${device.kind} q [${q.shape}] k [${k.shape}] R ${R}`;
      t.falsy(qr.node);
      t.deepEqual(await values(qr), await values(applyRope(q, pos, inv, R)), `${what}: q`);
      t.deepEqual(await values(kr), await values(applyRope(k, pos, inv, R)), `${what}: k`);
      // With a gradient to record: the two calls, so backward reaches both.
      const qg = make([B, Hq, T, D], 1, true), kg = make([B, Hk, T, D], 2, true);
      const [qgr, kgr] = r.applyRopePair(qg, kg, pos, inv, R);
      r.backward(r.add(r.sum(qgr), r.sum(kgr)));
      t.truthy(qg.grad && kg.grad);
      t.deepEqual(await values(qgr), await values(qr));
    }
  }
  const x = (shape: number[]) => r.zeros(shape, { device: cpu });
  t.throws(() => r.applyRopePair(x([1, 2, 3, 8]), x([1, 2, 3, 4]), ints([0, 1, 2], [3], cpu), x([2])), { message: /share batch, sequence, head_dim/ });
});
