import test from 'ava';
import * as r from '../../src/index.js';
import { layerNorm, rmsNorm, layerNormCost, rmsNormCost, rmsNormBackwardCost, layerNormBackwardCost } from '../../src/kernels/norm/index.js';
import { normPartials } from '../../src/kernels/norm/contract.js';
import { assertClose, bothDevices, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Rows of awkward lengths (1, primes, around and past a workgroup), batched. */
const SHAPES = [[1], [7], [1, 1], [5, 1], [3, 7], [2, 3, 33], [4, 577], [2, 2049], [1, 2, 3, 5]];

interface Inputs {
  x: r.Tensor;
  w: r.Tensor;
  b: r.Tensor;
}

function inputs(shape: number[], seed: number, device: r.Device, requiresGrad = false, offset = 0): Inputs {
  const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
  const n = shape[shape.length - 1];
  // float32-representable values, so both devices see the same inputs.
  const v = (k: number, s: number, lo: number, hi: number) => randomValues(k, s, lo, hi).map(Math.fround);
  return {
    x: r.tensor(v(size(shape), seed, -3 + offset, 3 + offset), shape, { device, dtype, requiresGrad }),
    w: r.tensor(v(n, seed + 1, 0.5, 1.5), [n], { device, dtype, requiresGrad }),
    b: r.tensor(v(n, seed + 2, -1, 1), [n], { device, dtype, requiresGrad }),
  };
}

const rms = (i: Inputs) => rmsNorm(i.x, i.w, 1e-6);
const ln = (i: Inputs) => layerNorm(i.x, i.w, i.b, 1e-5);

for (const [name, f] of [['rmsNorm', rms], ['layerNorm', ln]] as const) {
  test(`${name}: webgpu matches the cpu reference on awkward shapes`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    for (const [k, shape] of SHAPES.entries()) {
      const want = await values(f(inputs(shape, 10 + k, cpu)));
      const got = f(inputs(shape, 10 + k, gpu));
      t.deepEqual(got.shape, shape);
      assertClose(t, await values(got), want, { rtol: 1e-5, atol: 2e-6 }, `${name} [${shape}]`);
    }
  });

  test(`${name}: gradients of x, weight (and bias) on webgpu match the cpu`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    // [2500, 5] and [65537, 3]: blocks of 3 and 65 rows per weight-gradient partial, the last
    // block short (normPartials).
    for (const [k, shape] of [[1], [5, 1], [3, 7], [2, 3, 33], [3, 577], [2049], [2500, 5], [65537, 3]].entries()) {
      const grads = async (device: r.Device) => {
        const i = inputs(shape, 40 + k, device, true);
        const dtype = i.x.dtype;
        const c = r.tensor(randomValues(size(shape), 90 + k), shape, { device, dtype });
        r.tidy(() => r.sum(r.mul(f(i), c)).backward());
        const out = [await values(i.x.grad!), await values(i.w.grad!), name === 'layerNorm' ? await values(i.b.grad!) : []];
        for (const v of [i.x, i.w, i.b, c]) v.dispose();
        return out;
      };
      const want = await grads(cpu);
      const got = await grads(gpu);
      // Gradients of a normalisation cancel (Σ dx = 0 for layerNorm): compare with an absolute
      // slack scaled to the row length's accumulated rounding.
      for (const [j, what] of ['dx', 'dweight', 'dbias'].entries()) {
        assertClose(t, got[j], want[j], { rtol: 1e-4, atol: 1e-5 * Math.sqrt(size(shape)) }, `${name} ${what} [${shape}]`);
      }
    }
  });

  for (const shape of [[1], [4], [3, 5], [2, 2, 3], [1025, 2]]) {
    test(`${name}: gradcheck [${shape}]`, async (t) => {
      const i = inputs(shape, 7, cpu, true);
      const res = await r.gradcheck((x, w, b) => f({ x, w, b }), [i.x, i.w, i.b]);
      t.true(res.ok, JSON.stringify(res));
    });
  }

  test(`${name}: more than 65535 rows fold into a 2-D grid`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    const shape = [65537, 3];
    const want = await values(f(inputs(shape, 3, cpu)));
    const got = await values(f(inputs(shape, 3, gpu)));
    // Rows of 3 random values include some nearly constant ones, whose normalised values are
    // ill-conditioned in f32 (|x − μ| near the rounding of μ): a looser absolute tolerance.
    assertClose(t, got, want, { rtol: 1e-5, atol: 1e-4 }, `${name} [${shape}]`);
  });
}

test('rmsNorm is Hugging Face LlamaRMSNorm: weight ⊙ (x · rsqrt(mean(x²) + eps))', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([[1, 2, 3, 4], [0, 0, 0, 0]], undefined, { device });
    const w = r.tensor([1, 0.5, -2, 3], undefined, { device });
    const eps = 1e-6;
    const s = 1 / Math.sqrt((1 + 4 + 9 + 16) / 4 + eps);
    // An all-zero row gives zeros (eps keeps the rsqrt finite).
    assertClose(t, await values(rmsNorm(x, w, eps)), [1 * s, 2 * s * 0.5, 3 * s * -2, 4 * s * 3, 0, 0, 0, 0], { rtol: 1e-6, atol: 0 }, device.kind);
  }
});

test('rmsNorm and layerNorm equal their compositions of elementwise and reduce ops', async (t) => {
  const { x, w, b } = inputs([3, 11], 5, cpu);
  const eps = 1e-5;
  const rmsRef = r.mul(w, r.mul(x, r.rsqrt(r.add(r.mean(r.square(x), -1, true), eps))));
  assertClose(t, await values(rmsNorm(x, w, eps)), await values(rmsRef), { rtol: 1e-12, atol: 1e-12 }, 'rmsNorm');
  const c = r.sub(x, r.mean(x, -1, true));
  const lnRef = r.add(r.mul(r.mul(c, r.rsqrt(r.add(r.mean(r.square(c), -1, true), eps))), w), b);
  assertClose(t, await values(layerNorm(x, w, b, eps)), await values(lnRef), { rtol: 1e-12, atol: 1e-12 }, 'layerNorm');
});

test('layerNorm on webgpu: a large common offset does not cancel (two-pass variance)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const shape = [3, 300];
  // x = 1000 + U(−3, 3): E[x²] − μ² in f32 would lose about 6 of the 7 digits.
  const want = await values(layerNorm(...triple(inputs(shape, 8, cpu, false, 1000))));
  const got = await values(layerNorm(...triple(inputs(shape, 8, gpu, false, 1000))));
  // Shifted by the row's first element, the mean loses nothing to the offset (see norm/webgpu.ts):
  // plain f32 summation would be off by ~3e-4 here.
  assertClose(t, got, want, { rtol: 1e-5, atol: 1e-5 }, 'offset rows');
});

function triple(i: Inputs): [r.Tensor, r.Tensor, r.Tensor] {
  return [i.x, i.w, i.b];
}

test('a weight or bias without requiresGrad gets no gradient; x alone still does', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const i = inputs([4, 9], 3, device);
    i.x.requiresGrad = true;
    r.tidy(() => r.sum(r.square(layerNorm(i.x, i.w, i.b))).backward());
    t.truthy(i.x.grad);
    t.is(i.w.grad, null);
    t.is(i.b.grad, null);
    const j = inputs([4, 9], 3, device);
    j.w.requiresGrad = true;
    r.tidy(() => r.sum(r.square(rmsNorm(j.x, j.w))).backward());
    t.is(j.x.grad, null);
    t.deepEqual(j.w.grad!.shape, [9]);
  }
});

test('backward frees its temporaries: live buffers stay flat over repeated steps', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const i = inputs([6, 40], 3, device, true);
    const step = () => r.tidy(() => r.sum(r.square(layerNorm(rmsNorm(i.x, i.w), i.w, i.b))).backward());
    step();
    const before = device.memory().liveBuffers;
    for (let k = 0; k < 5; k++) step();
    t.is(device.memory().liveBuffers, before, device.kind);
  }
});

test('errors name the tensor and the expected shape', (t) => {
  const x = r.tensor(randomValues(6, 1), [2, 3], { device: cpu });
  const w3 = r.tensor([1, 1, 1], [3], { device: cpu });
  t.throws(() => rmsNorm(x, r.tensor([1, 1], [2], { device: cpu })), { message: /weight must have shape \[3\].*got \[2\]/ });
  t.throws(() => layerNorm(x, w3, r.tensor([1, 1, 1, 1], [4], { device: cpu })), { message: /bias must have shape \[3\]/ });
  t.throws(() => rmsNorm(x, r.tensor([1, 1, 1], [3], { device: cpu, dtype: 'float64' })), { message: /weight is float64 but x is float32/ });
  t.throws(() => rmsNorm(r.tensor([1], [], { device: cpu }), r.tensor([1], [1], { device: cpu })), { message: /scalar/ });
  t.throws(() => rmsNorm(x.cast('int32'), w3.cast('int32')), { message: /needs a float tensor/ });
  t.throws(() => layerNorm(x, w3, w3, -1), { message: /eps/ });
});

test('empty batches pass through', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const w = r.ones([4], { device });
    const y = rmsNorm(r.zeros([0, 4], { device }), w);
    t.deepEqual(y.shape, [0, 4]);
    t.deepEqual(await values(layerNorm(r.zeros([0, 4], { device }), w, w)), []);
  }
});

test('cost: FLOPs and compulsory bytes', (t) => {
  t.deepEqual(rmsNormCost([4, 10], 'float32'), { flops: 4 * 40 + 12, bytes: (80 + 10) * 4 });
  t.deepEqual(layerNormCost([4, 10], 'float32'), { flops: 8 * 40 + 16, bytes: (80 + 20) * 4 });
  t.deepEqual(rmsNormBackwardCost([4, 10], 'float32'), { flops: 11 * 40 + 16, bytes: (160 + 10) * 4 });
  t.deepEqual(layerNormBackwardCost([4, 10], 'float32', false), { flops: 13 * 40 + 24, bytes: (120 + 10) * 4 });
  // 4096 rows: partials of 4 rows, 1024 × 10 words instead of 4096 × 10.
  t.deepEqual(rmsNormBackwardCost([4096, 10], 'float32'), { flops: 11 * 40960 + 4 * 4096, bytes: (3 * 40960 + 10 + 10240) * 4 });
});

test.after.always(async () => {
  await r.shutdown();
});

test('weight-gradient partials: at most 1024 rows of them, blocks covering every row once', (t) => {
  for (const [rows, R, P] of [[0, 1, 0], [1, 1, 1], [1024, 1, 1024], [1025, 2, 513], [2500, 3, 834], [65537, 65, 1009]]) {
    t.deepEqual(normPartials(rows), { R, P }, `${rows} rows`);
    t.true(P <= 1024 && (P - 1) * R < Math.max(rows, 1) && P * R >= rows, `${rows} rows: ${P} blocks of ${R}`);
  }
});

test('addRmsNorm gives add then rmsNorm bit for bit, one kernel without a graph, the two ops with gradients', async (t) => {
  for (const device of await bothDevices(t)) {
    for (const [k, shape] of [[1], [3, 7], [2, 3, 33], [4, 577], [2, 2049]].entries()) {
      const n = shape[shape.length - 1];
      const make = (seed: number, s: number[], requiresGrad = false) => r.tensor(randomValues(size(s), seed).map(Math.fround), s, { device, requiresGrad });
      const [x, res, w] = [make(10 + k, shape), make(20 + k, shape), make(30 + k, [n])];
      const want = r.add(x, res);
      const wantY = rmsNorm(want, w, 1e-5);
      const [s, y] = r.noGrad(() => r.addRmsNorm(x, res, w, 1e-5));
      const what = `${device.kind} [${shape}]`;
      t.deepEqual(await values(s), await values(want), `${what}: the sum`);
      t.deepEqual(await values(y), await values(wantY), `${what}: the norm`);
      t.falsy(y.node);
      // With a gradient to record: the two ops, so backward reaches x, the residual and the weight.
      const [xg, rg, wg] = [make(10 + k, shape, true), make(20 + k, shape, true), make(30 + k, [n], true)];
      const [sg, yg] = r.addRmsNorm(xg, rg, wg, 1e-5);
      t.truthy(yg.node && sg.node);
      t.deepEqual(await values(yg), await values(wantY), `${what}: the norm, recorded`);
      r.backward(r.sum(r.add(sg, yg)));
      t.truthy(xg.grad && rg.grad && wg.grad);
      for (const z of [x, res, w, want, wantY, s, y, xg, rg, wg, sg, yg]) z.dispose();
    }
  }
  t.throws(() => r.addRmsNorm(r.zeros([2, 4], { device: cpu }), r.zeros([1, 4], { device: cpu }), r.ones([4], { device: cpu })), { message: /residual must be float32 \[2,4\]/ });
});
