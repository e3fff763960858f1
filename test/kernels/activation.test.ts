import test from 'ava';
import * as r from '../../src/index.js';
import {
  erf, gatedActivation, geglu, gelu, geluTanh, swiglu, gegluBackwardCost, gegluCost, geluBackwardCost, geluCost, geluTanhBackwardCost,
  geluTanhCost, swigluBackwardCost, swigluCost,
} from '../../src/kernels/activation/index.js';
import { erf as erfRef, erfc as erfcRef, geluTanh as geluTanhRef, normalCdf } from '../../src/kernels/activation/cpu.js';
import { assertClose, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** Awkward sizes: 1, primes, not multiples of the 256-thread workgroup, batched. */
const SHAPES = [[1], [7], [33], [3, 577], [2049], [2, 3, 5]];

const f32 = (v: number[]) => v.map(Math.fround);
const dtypeOf = (device: r.Device) => (device.kind === 'cpu' ? 'float64' : 'float32');
const tensorOn = (v: number[], shape: number[], device: r.Device, requiresGrad = false) => r.tensor(f32(v), shape, { device, dtype: dtypeOf(device), requiresGrad });

test('the float64 erf reference: known values, symmetry and tails', (t) => {
  // mpmath at 40 digits.
  const known: [number, number][] = [
    [0, 0], [1e-10, 1.1283791670955126e-10], [0.1, 0.1124629160182849], [0.5, 0.52049987781304654],
    [1, 0.8427007929497149], [1.5, 0.9661051464753108], [2, 0.9953222650189527], [2.4999, 0.99959283009966655],
    [3, 0.9999779095030014], [4, 0.9999999845827421],
  ];
  for (const [x, want] of known) {
    assertClose(t, [erfRef(x), -erfRef(-x)], [want, want], { rtol: 2e-15, atol: 1e-300 }, `erf(${x})`);
  }
  const tails: [number, number][] = [[1, 0.15729920705028513], [1.7, 0.016209541409225439], [2.5, 4.069520174449590e-4], [5, 1.537459794428035e-12], [10, 2.088487583762545e-45], [26, 5.663192408856143e-296], [-1, 1.842700792949715]];
  // (mpmath at 40 digits.)
  for (const [x, want] of tails) assertClose(t, [erfcRef(x)], [want], { rtol: 5e-15, atol: 0 }, `erfc(${x})`);
  t.is(erfRef(Infinity), 1);
  t.is(erfRef(-Infinity), -1);
  t.true(Number.isNaN(erfRef(NaN)));
  assertClose(t, [normalCdf(-10)], [7.619853024160526e-24], { rtol: 1e-13, atol: 0 }, 'Φ(−10)');
});

test('erf on webgpu: error against the float64 reference is ≤ 1e-7 absolute over the line', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  // Dense on [−6, 6] (every region and both boundaries at |x| = 1), plus the far tails.
  const xs = f32([...Array.from({ length: 24001 }, (_, i) => -6 + i * 5e-4), -1e30, -50, 50, 1e30, 0, -0]);
  const got = await values(erf(r.tensor(xs, [xs.length], { device: gpu })));
  let worst = 0, at = 0;
  for (let i = 0; i < xs.length; i++) {
    const err = Math.abs(got[i] - erfRef(xs[i]));
    if (err > worst) [worst, at] = [err, xs[i]];
  }
  t.log(`erf max abs error on ${gpu.description.slice(0, 60)}: ${worst.toExponential(2)} at x = ${at}`);
  t.true(worst <= 1e-7, `max abs error ${worst} at x = ${at}`);
});

test('gelu on webgpu: ≤ 1e-7·max(1, |x|) absolute, and relative accuracy in the lower tail', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const xs = f32(Array.from({ length: 16001 }, (_, i) => -8 + i * 1e-3));
  const got = await values(gelu(r.tensor(xs, [xs.length], { device: gpu })));
  const want = await values(gelu(r.tensor(xs, [xs.length], { device: cpu, dtype: 'float64' })));
  let worst = 0;
  for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(xs[i])));
  t.log(`gelu max abs error / max(1, |x|): ${worst.toExponential(2)}`);
  t.true(worst <= 1e-7, `gelu error ${worst}`);
  // x·Φ(x) for x ≪ 0 is tiny; ½·x·erfc(|x|/√2) keeps its digits where 1 + erf(x/√2) would not.
  // Down to where Φ(x) leaves the normal f32 range (x ≈ −12.9): below it Φ is subnormal, and WGSL
  // lets a GPU flush subnormals to zero (an H200 does; lavapipe does not).
  const tail = f32(Array.from({ length: 111 }, (_, i) => -2 - i * 0.1)).filter((x) => normalCdf(x) >= 2 ** -126);
  const gotTail = await values(gelu(r.tensor(tail, [tail.length], { device: gpu })));
  assertClose(t, gotTail, tail.map((x) => x * normalCdf(x)), { rtol: 2e-5, atol: 0 }, 'gelu lower tail');
});

test('geluTanh on webgpu: ≤ 2e-7·max(1, |x|) absolute over [−8, 8], relative accuracy in the lower tail', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const xs = f32(Array.from({ length: 16001 }, (_, i) => -8 + i * 1e-3));
  const got = await values(geluTanh(r.tensor(xs, [xs.length], { device: gpu })));
  let worst = 0;
  for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(got[i] - geluTanhRef(xs[i])) / Math.max(1, Math.abs(xs[i])));
  t.log(`geluTanh max abs error / max(1, |x|): ${worst.toExponential(2)}`);
  t.true(worst <= 2e-7, `geluTanh error ${worst}`);
  // x·σ(2u) keeps its digits in the tail (PyTorch's 1 + tanh form gives 0 there in float32), down to
  // where it leaves the normal float32 range; the error is about |2u|·ε relative there.
  const tail = f32(Array.from({ length: 60 }, (_, i) => -2 - i * 0.1)).filter((x) => Math.abs(geluTanhRef(x)) >= 2 ** -126);
  const gotTail = await values(geluTanh(r.tensor(tail, [tail.length], { device: gpu })));
  assertClose(t, gotTail, tail.map(geluTanhRef), { rtol: 2e-5, atol: 0 }, 'geluTanh lower tail');
});

for (const [name, f, argc] of [
  ['swiglu', (a: r.Tensor[]) => swiglu(a[0], a[1]), 2],
  ['gelu', (a: r.Tensor[]) => gelu(a[0]), 1],
  ['geglu', (a: r.Tensor[]) => geglu(a[0], a[1]), 2],
  ['geluTanh', (a: r.Tensor[]) => geluTanh(a[0]), 1],
  ['erf', (a: r.Tensor[]) => erf(a[0]), 1],
] as const) {
  const args = (shape: number[], seed: number, device: r.Device, requiresGrad = false) =>
    Array.from({ length: argc }, (_, k) => tensorOn(randomValues(size(shape), seed + k, -6, 6), shape, device, requiresGrad));

  test(`${name}: webgpu matches the cpu reference on awkward shapes`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    for (const [k, shape] of SHAPES.entries()) {
      const want = await values(f(args(shape, 10 + 7 * k, cpu)));
      const got = f(args(shape, 10 + 7 * k, gpu));
      t.deepEqual(got.shape, shape);
      assertClose(t, await values(got), want, { rtol: 2e-6, atol: 6e-7 }, `${name} [${shape}]`);
    }
  });

  test(`${name}: the webgpu gradient matches the cpu gradient`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    const grads = async (device: r.Device) => {
      const xs = args([3, 577], 50, device, true);
      const w = tensorOn(randomValues(3 * 577, 60), [3, 577], device);
      r.tidy(() => r.sum(r.mul(f(xs), w)).backward());
      return Promise.all(xs.map((x) => values(x.grad!)));
    };
    const want = await grads(cpu);
    const got = await grads(gpu);
    for (let k = 0; k < argc; k++) assertClose(t, got[k], want[k], { rtol: 2e-6, atol: 1e-6 }, `${name} grad ${k}`);
  });

  for (const shape of [[1], [2, 3], [7]]) {
    test(`${name}: gradcheck [${shape}]`, async (t) => {
      const res = await r.gradcheck((...a) => f(a), args(shape, 3, cpu, true));
      t.true(res.ok, JSON.stringify(res));
    });
  }

  test(`${name}: empty tensors pass through`, async (t) => {
    const gpu = await gpuOrSkip(t);
    for (const device of gpu ? [cpu, gpu] : [cpu]) {
      const y = f(Array.from({ length: argc }, () => r.zeros([0, 3], { device })));
      t.deepEqual(y.shape, [0, 3]);
      t.deepEqual(await values(y), []);
    }
  });
}

test('gradcheck of geluTanh and geglu across the tail, 0 and the positive side', async (t) => {
  const x = r.tensor([-9, -4, -1.5, -0.3, 0, 0.2, 1.3, 3, 7], [9], { device: cpu, dtype: 'float64', requiresGrad: true });
  const up = r.tensor(randomValues(9, 5), [9], { device: cpu, dtype: 'float64', requiresGrad: true });
  for (const [what, f] of [['geluTanh', (a: r.Tensor[]) => geluTanh(a[0])], ['geglu', (a: r.Tensor[]) => geglu(a[0], a[1])]] as const) {
    const res = await r.gradcheck((...a) => f(a), [x, up]);
    t.true(res.ok, `${what}: ${JSON.stringify(res)}`);
  }
});

test('gradcheck across the erf pieces (|x| near 1 and past it)', async (t) => {
  for (const f of [gelu, erf]) {
    const x = r.tensor([-4, -1.6, -1.4, -0.3, 0.2, 1.3, 1.5, 3], [8], { device: cpu, dtype: 'float64', requiresGrad: true });
    const res = await r.gradcheck(f, [x]);
    t.true(res.ok, JSON.stringify(res));
  }
});

test('swiglu and its gradient are finite and exact at ±large gates', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const g = r.tensor([1e4, -1e4, 100, -100, 0, 88.8, -88.8], undefined, { device, requiresGrad: true });
    const u = r.tensor([2, 2, 3, 3, 5, 1, 1], undefined, { device, requiresGrad: true });
    const y = await values(swiglu(g, u));
    const silu = (v: number) => (v >= 0 ? v / (1 + Math.exp(-v)) : (v * Math.exp(v)) / (1 + Math.exp(v)));
    assertClose(t, y, [2e4, -0, 300, 3 * silu(-100), 0, 88.8, silu(-88.8)].map(Math.fround), { rtol: 1e-6, atol: 1e-30 }, `${device.kind} forward`);
    r.tidy(() => r.sum(swiglu(g, u)).backward());
    const dg = await values(g.grad!), du = await values(u.grad!);
    t.true([...dg, ...du].every(Number.isFinite), `${device.kind}: ${dg} ${du}`);
    // dgate = up·σ(g)(1 + g(1 − σ(g))): up at +large, 0 at −large, up/2 at 0.
    assertClose(t, [dg[0], dg[1], dg[4]], [2, 0, 2.5], { rtol: 1e-6, atol: 1e-30 }, `${device.kind} dgate`);
    assertClose(t, [du[0], du[1], du[4]], [1e4, 0, 0], { rtol: 1e-6, atol: 1e-30 }, `${device.kind} dup`);
  }
});

test('gelu: known values', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([0, 1, -1, 3, -3, 20, -20], undefined, { device, dtype: dtypeOf(device) });
    // x·Φ(x) by mpmath at 40 digits.
    const want = [0, 0.84134474606854295, -0.15865525393145705, 2.9959503059051097, -0.0040496940948902836, 20, -5.5072482372124674e-88];
    const tol = device.kind === 'cpu' ? 2e-15 : 1e-6;
    // float32 on webgpu: gelu(−20) underflows to 0 (the true value is 5.5e-88).
    assertClose(t, await values(gelu(x)), device.kind === 'cpu' ? want : want.map(Math.fround), { rtol: tol, atol: 1e-30 }, device.kind);
  }
});

test('geluTanh: the float64 reference is PyTorch\'s formula ½·x·(1 + tanh(√(2/π)(x + 0.044715x³))), and known values on both devices', async (t) => {
  // The formula as PyTorch writes it, in float64: an independent oracle where 1 + tanh keeps its digits.
  const torchForm = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  const xs = Array.from({ length: 1201 }, (_, i) => -6 + i * 0.01);
  assertClose(t, xs.map(geluTanhRef), xs.map(torchForm), { rtol: 1e-13, atol: 1e-15 }, 'reference vs formula');
  const gpu = await gpuOrSkip(t);
  // mpmath at 40 digits, as x/(1 + exp(−2u)) (the 1 + tanh form needs hundreds of digits at −20).
  const x = [0, 1, -1, 3, -3, 0.5, -0.5, 20, -8, -20];
  const want = [0, 0.8411919906082767, -0.1588080093917233, 2.996362607918227, -0.0036373920817730188, 0.34571400982514392, -0.15428599017485608, 20, -3.1077829375011112e-21, -3.3754509563109673e-261];
  const wantGrad = [0.5, 1.0829640838457826, -0.082964083845782555, 1.0115841666309697, -0.011584166630969726, 0.86736990353464231, 0.13263009646535769, 1, -4.7147845041068416e-20, -2.9424328724945029e-259];
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const xt = r.tensor(x, [x.length], { device, dtype: dtypeOf(device), requiresGrad: true });
    const y = await values(geluTanh(xt));
    r.tidy(() => r.sum(geluTanh(xt)).backward());
    const dx = await values(xt.grad!);
    // exp(−|2u|) carries the rounding of 2u, |2u|·ε relative (6e-14 at −20 in float64); float32 on
    // webgpu: the −20 values underflow to 0.
    const tol = device.kind === 'cpu' ? { rtol: 1e-12, atol: 1e-300 } : { rtol: 2e-6, atol: 1e-30 };
    const f32Of = (v: number[]) => (device.kind === 'cpu' ? v : v.map(Math.fround));
    assertClose(t, y, f32Of(want), tol, `${device.kind} forward`);
    assertClose(t, dx, f32Of(wantGrad), tol, `${device.kind} gradient`);
  }
});

test('geluTanh and geglu: finite and exact at ±large inputs (no tanh to overflow), on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const xs = [1e4, -1e4, 100, -100, 1e30, -1e30, 3e38, -3e38];
    const g = r.tensor(xs, undefined, { device, requiresGrad: true });
    const u = r.tensor(xs.map(() => 2), undefined, { device, requiresGrad: true });
    const x = r.tensor(xs, undefined, { device, requiresGrad: true });
    // geluTanh(x) = x at +large and (−)0 at −large; its slope 1 and 0.
    assertClose(t, await values(geluTanh(x)), [1e4, 0, 100, 0, 1e30, 0, 3e38, 0].map(Math.fround), { rtol: 1e-7, atol: 0 }, `${device.kind} geluTanh`);
    assertClose(t, await values(geglu(g, u)), [2e4, 0, 200, 0, 2e30, 0, 6e38, 0].map(Math.fround), { rtol: 1e-7, atol: 0 }, `${device.kind} geglu`);
    r.tidy(() => {
      r.sum(geluTanh(x)).backward();
      r.sum(geglu(g, u)).backward();
    });
    const [dx, dg, du] = await Promise.all([x.grad!, g.grad!, u.grad!].map(values));
    t.deepEqual(dx, [1, 0, 1, 0, 1, 0, 1, 0], `${device.kind} dx`);
    t.deepEqual(dg, [2, 0, 2, 0, 2, 0, 2, 0], `${device.kind} dgate`);
    assertClose(t, du, [1e4, 0, 100, 0, 1e30, 0, 3e38, 0].map(Math.fround), { rtol: 1e-7, atol: 0 }, `${device.kind} dup`);
  }
});

test('gatedActivation: swiglu for silu, geglu for gelu_tanh; other names are refused', async (t) => {
  const g = r.tensor(randomValues(12, 1, -4, 4), [3, 4], { device: cpu }), u = r.tensor(randomValues(12, 2), [3, 4], { device: cpu });
  t.deepEqual(await values(gatedActivation(g, u, 'silu')), await values(swiglu(g, u)));
  t.deepEqual(await values(gatedActivation(g, u, 'gelu_tanh')), await values(geglu(g, u)));
  t.throws(() => gatedActivation(g, u, 'gelu' as r.GatedActivation), { message: /activation must be one of 'silu', 'gelu_tanh', got 'gelu'/ });
});

test('errors', (t) => {
  const a = r.zeros([2, 3], { device: cpu });
  t.throws(() => swiglu(a, r.zeros([3, 2], { device: cpu })), { message: /up \(float32 \[3,2\]\) must match gate \(float32 \[2,3\]\)/ });
  t.throws(() => swiglu(a, r.zeros([2, 3], { device: cpu, dtype: 'float64' })), { message: /must match gate/ });
  t.throws(() => gelu(a.cast('int32')), { message: /gelu\(\) needs a float tensor/ });
  t.throws(() => geluTanh(a.cast('int32')), { message: /geluTanh\(\) needs a float tensor/ });
  t.throws(() => geglu(a, r.zeros([3, 2], { device: cpu })), { message: /geglu\(\): up \(float32 \[3,2\]\) must match gate/ });
  t.throws(() => erf(a.cast('int32')), { message: /erf\(\) needs a float tensor/ });
});

test('cost: FLOPs and compulsory bytes', (t) => {
  t.deepEqual(swigluCost([4, 10], 'float32'), { flops: 200, bytes: 480 });
  t.deepEqual(swigluBackwardCost([4, 10], 'float32'), { flops: 440, bytes: 800 });
  t.deepEqual(geluCost([10], 'float32'), { flops: 50, bytes: 80 });
  t.deepEqual(geluBackwardCost([10], 'float64'), { flops: 110, bytes: 240 });
  t.deepEqual(geluTanhCost([10], 'float32'), { flops: 80, bytes: 80 });
  t.deepEqual(geluTanhBackwardCost([10], 'float32'), { flops: 170, bytes: 120 });
  t.deepEqual(gegluCost([4, 10], 'float32'), { flops: 360, bytes: 480 });
  t.deepEqual(gegluBackwardCost([4, 10], 'float32'), { flops: 840, bytes: 800 });
});

test.after.always(async () => {
  await r.shutdown();
});
