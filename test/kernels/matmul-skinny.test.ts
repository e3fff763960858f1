// The skinny matmul (src/kernels/matmul/skinny.ts): few rows of A against a weight read at full
// width, in float32 (the ladder's rung v12) and as stored in bfloat16 or NF4 ('matmulStored', the
// frozen-weight products' path for a decoding step). Checked against the CPU reference on shapes
// that exercise its fast body (X·Wᵀ, K a multiple of the chunk), its generic body, partial column
// and row groups, several row groups, and batches; the stored products against the widened weight,
// with the peak memory showing no float copy of the weight was made.
import test from 'ava';
import * as r from '../../src/index.js';
import { assertMaxRel, bothDevices, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';
import { dispatchSkinnyGroup, setSkinnyColumns, skinnyColumns } from '../../src/kernels/matmul/skinny.js';
import { MATMUL_SKINNY } from '../../src/kernels/matmul/webgpu.js';

const f32Values = (n: number, seed: number) => randomValues(n, seed).map(Math.fround);


test('the default picks the skinny rung for a decoding step (≤ 16 rows, X·Wᵀ, K a multiple of 8) and only there', (t) => {
  const choose = (M: number, K: number, N: number, tA: boolean, tB: boolean) => r.chooseMatmulVersion({ M, N, K, batch: 1, strideA: 0, strideB: 0, strideC: 0, outShape: [] }, tA, tB);
  t.is(choose(1, 4096, 14336, false, true), MATMUL_SKINNY);
  t.is(choose(8, 576, 49152, false, true), MATMUL_SKINNY);
  t.is(choose(16, 576, 1536, false, true), MATMUL_SKINNY, 'two row groups');
  t.not(choose(17, 576, 1536, false, true), MATMUL_SKINNY);
  t.not(choose(1, 4096, 4096, false, false), MATMUL_SKINNY, 'a weight stored [in, out] is read across rows: not this kernel');
  t.not(choose(1, 4100, 4096, false, true), MATMUL_SKINNY, 'K not a multiple of 8');
  t.not(choose(4, 64, 8, false, true), MATMUL_SKINNY, 'N under 16: the naive kernel');
});

// [batch of a, M, K, N, batch of b]: X·Wᵀ shapes for the fast body (K % 8 == 0), with partial
// column groups (N not a multiple of 8), several and partial row groups (M > 8), shared and
// per-entry weights.
const FAST: [number, number, number, number, number][] = [
  [1, 1, 8, 1, 1], [1, 1, 576, 13, 1], [1, 3, 72, 100, 1], [1, 8, 256, 40, 1], [1, 9, 64, 17, 1],
  [1, 19, 136, 24, 1], [2, 5, 48, 9, 1], [3, 2, 80, 11, 3], [1, 4, 1024, 8, 1],
];

test('webgpu: the skinny rung (v12) matches the cpu reference on its fast body: X·Wᵀ, partial column and row groups, batches', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [k, [ba, M, K, N, bb]] of FAST.entries()) {
    const aShape = ba === 1 ? [M, K] : [ba, M, K], bShape = bb === 1 ? [N, K] : [bb, N, K];
    const av = f32Values(ba * M * K, 20 + k), bv = f32Values(bb * N * K, 40 + k);
    const want = r.matmul(r.tensor(av, aShape, { device: cpu, dtype: 'float64' }), r.tensor(bv, bShape, { device: cpu, dtype: 'float64' }), { transposeB: true });
    const got = r.matmul(r.tensor(av, aShape, { device: gpu }), r.tensor(bv, bShape, { device: gpu }), { transposeB: true, version: MATMUL_SKINNY });
    t.deepEqual([...got.shape], [...want.shape]);
    assertMaxRel(t, await values(got), await values(want), 1e-5, `[${aShape}] @ [${bShape}]ᵀ`);
    got.dispose();
    want.dispose();
  }
});

interface StoredCase { rows: number[]; K: number; N: number; transposeB: boolean }

// x's shape (its last dimension K; a 1-D x is one row), K, N. NF4's fast body needs K % 32 == 0, bfloat16's K % 8 == 0; the others take the
// generic body, as does every product with the weight stored [K, N] (transposeB false: backward's dx).
const STORED: StoredCase[] = [
  { rows: [1, 64], K: 64, N: 24, transposeB: true },
  { rows: [3, 96], K: 96, N: 17, transposeB: true },
  { rows: [2, 4, 40], K: 40, N: 9, transposeB: true },
  { rows: [8, 100], K: 100, N: 33, transposeB: true },
  { rows: [12, 64], K: 64, N: 40, transposeB: true },
  { rows: [5, 7], K: 7, N: 65, transposeB: true },
  { rows: [96], K: 96, N: 12, transposeB: true },
  { rows: [6, 48], K: 48, N: 70, transposeB: false },
  { rows: [1, 1, 128], K: 128, N: 8, transposeB: false },
];

const FORMATS = {
  bfloat16: {
    store: (w: r.Tensor) => r.toBfloat16(w),
    product: (x: r.Tensor, s: unknown, transposeB: boolean) => r.matmulBfloat16Weight(x, s as r.Tensor, { transposeB }),
    widen: (s: unknown) => r.fromBfloat16(s as r.Tensor),
    dispose: (s: unknown) => (s as r.Tensor).dispose(),
  },
  nf4: {
    store: (w: r.Tensor) => r.quantizeNf4(w),
    product: (x: r.Tensor, s: unknown, transposeB: boolean) => r.matmulNf4Weight(x, s as r.Nf4Weight, { transposeB }),
    widen: (s: unknown) => r.dequantizeNf4(s as r.Nf4Weight),
    dispose: (s: unknown) => [(s as r.Nf4Weight).codes, (s as r.Nf4Weight).absmax].forEach((z) => z.dispose()),
  },
} as const;

for (const [format, f] of Object.entries(FORMATS)) {
  test.serial(`${format}: a product of ≤ 16 rows reads the stored weight (no float copy at any point), and y and dx are those of the widened weight (cpu: bit for bit)`, async (t) => {
    for (const device of await bothDevices(t)) {
      for (const [k, c] of STORED.entries()) {
        const what = `${device.kind} ${format} x [${c.rows}] @ [${c.transposeB ? `${c.N}, ${c.K}]ᵀ` : `${c.K}, ${c.N}]`}`;
        const wShape = c.transposeB ? [c.N, c.K] : [c.K, c.N];
        const stored = r.tidy(() => f.store(r.tensor(f32Values(c.N * c.K, 60 + k), wShape, { device })));
        const n = c.rows.reduce((a, b) => a * b, 1);
        const xv = f32Values(n, 80 + k), dyv = f32Values((n / c.K) * c.N, 90 + k);
        const yShape = [...c.rows.slice(0, -1), c.N];
        // The reference: the ordinary product with the widened weight.
        const wide = f.widen(stored);
        const xr = r.tensor(xv, c.rows, { device, requiresGrad: true });
        const yr = r.matmul(xr, wide, { transposeB: c.transposeB });
        r.backward(yr, r.tensor(dyv, yShape, { device }));
        const wideBytes = device.memory().liveBytes;
        wide.dispose();
        const floatCopy = wideBytes - device.memory().liveBytes;

        const x = r.tensor(xv, c.rows, { device, requiresGrad: true });
        const dy = r.tensor(dyv, yShape, { device });
        device.resetPeakMemory();
        const start = device.memory().liveBytes;
        const y = r.tidy(() => f.product(x, stored, c.transposeB));
        r.backward(y, dy);
        // y and dx are what is left; a float copy of the weight made in forward or backward would
        // have been live beside them (or beside y alone).
        const peak = device.memory().peakLiveBytes! - start, left = device.memory().liveBytes - start;
        if (n / c.K <= 16) t.true(peak < left + floatCopy, `${what}: peak ${peak} B over the start, y and dx ${left} B, a float copy ${floatCopy} B`);
        const [gy, wy, gdx, wdx] = [await values(y), await values(yr), await values(x.grad!), await values(xr.grad!)];
        if (device.kind === 'cpu') {
          t.deepEqual(Array.from(gy), Array.from(wy), `${what}: y`);
          t.deepEqual(Array.from(gdx), Array.from(wdx), `${what}: dx`);
        } else {
          assertMaxRel(t, gy, wy, 1e-5, `${what}: y`);
          assertMaxRel(t, gdx, wdx, 1e-5, `${what}: dx`);
        }
        for (const z of [xr, yr, x, dy, y]) z.dispose();
        f.dispose(stored);
      }
    }
  });
}

test('cpu: the stored kernel computes in float64 for float64 x, as the widened product does', async (t) => {
  const w = r.tensor(f32Values(24 * 64, 5), [24, 64], { device: cpu });
  const q = r.quantizeNf4(w);
  const x = r.tensor(randomValues(2 * 64, 6), [2, 64], { device: cpu, dtype: 'float64' });
  const y = r.matmulNf4Weight(x, q, { transposeB: true });
  t.is(y.dtype, 'float64');
  t.deepEqual(Array.from(await values(y)), Array.from(await values(r.matmul(x, r.dequantizeNf4(q, 'float64'), { transposeB: true }))));
});

test.serial('matmulGroup: several weights sharing x in one launch give the separate products (bit for bit where linearGroup uses it), every format, both devices', async (t) => {
  for (const device of await bothDevices(t)) {
    for (const [format, f] of [['float32', null], ...Object.entries(FORMATS)] as const) {
      for (const [rows, K] of [[1, 64], [5, 96], [16, 128], [3, 100]]) {
        const Ns = [24, 17, 40];
        const ws = Ns.map((N, i) => r.tidy(() => {
          const w = r.tensor(f32Values(N * K, 100 + i), [N, K], { device });
          return f ? f.store(w) : w;
        }));
        const x = r.tensor(f32Values(rows * K, 7), [rows, K], { device });
        const separate = ws.map((w) => (f ? f.product(x, w, true) : r.matmul(x, w as r.Tensor, { transposeB: true })));
        const grouped = r.noGrad(() => r.matmulGroup(x, ws as (r.Tensor | r.Nf4Weight)[]));
        for (const [i, y] of grouped.entries()) {
          t.deepEqual([...y.shape], [rows, Ns[i]]);
          const [got, want] = [await values(y), await values(separate[i])];
          const what = `${device.kind} ${format} ${rows}×${K} weight ${i}`;
          if (device.kind === 'cpu' || K % 8 === 0) t.deepEqual(got, want, what);
          else assertMaxRel(t, got, want, 1e-5, what);
        }
        for (const z of [x, ...separate, ...grouped]) z.dispose();
        for (const w of ws) (f ? f.dispose(w) : (w as r.Tensor).dispose());
      }
    }
  }
});

test.serial('webgpu: every choice of columns per lane (1, 2, 4) gives the widened product on the fast body, every format; a group, the separate products bit for bit', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const format of ['float32', 'bfloat16'] as const) {
    t.deepEqual([1, 2, 3, 4, 8].map((rows) => skinnyColumns(rows, true, format)), [1, 1, 2, 2, 4], `${format}: the default, by the rows of a group`);
  }
  t.deepEqual([1, 4, 8].map((rows) => skinnyColumns(rows, true, 'nf4')), [4, 4, 4], 'nf4: four columns at any rows');
  t.is(skinnyColumns(8, false, 'float32'), 1, 'the generic body: one column per lane');
  t.is(skinnyColumns(8, true, 'nf4', true), 1, 'a software adapter: one column per lane');
  t.throws(() => setSkinnyColumns(3), { message: /1, 2 or 4/ });
  // M, K, N: partial column groups for every C (N not a multiple of C · 8 or C · 128 columns),
  // lanes fewer than 32 (K = 64 in NF4 is 2 chunks); for C = 4 two row groups, the second partial.
  // (Few shapes: lavapipe takes seconds to compile each shader with many rows and columns.)
  const shapesFor = (C: number): [number, number, number][] => (C === 1 ? [[1, 64, 24]] : C === 2 ? [[1, 64, 24], [3, 96, 17]] : [[1, 64, 24], [13, 256, 33]]);
  try {
    for (const C of [1, 2, 4]) {
      setSkinnyColumns(C);
      for (const [format, f] of [['float32', null], ...Object.entries(FORMATS)] as const) {
        for (const [k, [M, K, N]] of shapesFor(C).entries()) {
          const what = `C ${C} ${format} ${M}×${K}×${N}`;
          const w = r.tensor(f32Values(N * K, 200 + k), [N, K], { device: gpu });
          const stored = f ? r.tidy(() => f.store(w)) : w;
          const wide = f ? f.widen(stored) : w;
          const x = r.tensor(f32Values(M * K, 220 + k), [M, K], { device: gpu });
          const want = r.matmul(r.tensor(await values(x), [M, K], { device: cpu, dtype: 'float64' }), r.tensor(await values(wide), [N, K], { device: cpu, dtype: 'float64' }), { transposeB: true });
          const got = r.noGrad(() => (f ? f.product(x, stored, true) : r.matmul(x, w, { transposeB: true, version: MATMUL_SKINNY })));
          assertMaxRel(t, await values(got), await values(want), 1e-5, what);
          // With a narrower weight, as one group: each output is its separate product (one row: the
          // 8-row group shaders take lavapipe long to compile).
          const w2 = r.tensor(f32Values(5 * K, 240 + k), [5, K], { device: gpu });
          const stored2 = f ? r.tidy(() => f.store(w2)) : w2;
          const grouped = M === 1 ? r.noGrad(() => r.matmulGroup(x, [stored, stored2] as (r.Tensor | r.Nf4Weight)[])) : [];
          const alone2 = r.noGrad(() => (f ? f.product(x, stored2, true) : r.matmul(x, w2, { transposeB: true, version: MATMUL_SKINNY })));
          if (M === 1) {
            t.deepEqual(await values(grouped[0]), await values(got), `${what}: group, first weight`);
            t.deepEqual(await values(grouped[1]), await values(alone2), `${what}: group, second weight`);
          }
          for (const z of [w, w2, x, want, got, alone2, ...grouped, ...(f ? [wide] : [])]) z.dispose();
          if (f) [stored, stored2].forEach((s) => f.dispose(s));
        }
      }
    }
  } finally {
    setSkinnyColumns(undefined);
  }
});

for (const [activation, separate] of [['silu', r.swiglu], ['gelu_tanh', r.geglu]] as const) {
  test.serial(`matmulGated ${activation}: the gate and up products and the activation in one launch are ${separate.name}(matmulGroup) bit for bit, every format and columns per lane, both devices`, async (t) => {
    const run = async (device: r.Device, format: string, f: (typeof FORMATS)[keyof typeof FORMATS] | null, M: number, K: number, N: number, what: string) => {
      const ws = [0, 1].map((i) => r.tidy(() => {
        // Gate values spread to ±4 by a larger x below, so the activation's tail and both sides matter.
        const w = r.tensor(f32Values(N * K, 300 + i), [N, K], { device });
        return f ? f.store(w) : w;
      })) as (r.Tensor | r.Nf4Weight)[];
      const x = r.tensor(f32Values(M * K, 310).map((v) => Math.fround(v * 4)), [1, M, K], { device });
      const got = r.noGrad(() => r.matmulGated(x, ws[0], ws[1], activation));
      const want = r.noGrad(() => separate(...(r.matmulGroup(x, ws) as [r.Tensor, r.Tensor])));
      t.deepEqual([...got.shape], [1, M, N], what);
      t.deepEqual(await values(got), await values(want), what);
      if (activation === 'silu') t.deepEqual(await values(r.noGrad(() => r.matmulSwiglu(x, ws[0], ws[1]))), await values(got), `${what} matmulSwiglu`);
      for (const z of [x, got, want]) z.dispose();
      for (const w of ws) (f ? f.dispose(w) : (w as r.Tensor).dispose());
    };
    // Partial column groups (N not a multiple of 256 / L columns); two row groups at 9 rows, the
    // second partial (the CPU only: lavapipe compiles an 8-row shader for seconds, and the row
    // groups are the separate products' code, tested there).
    const all = [[1, 64, 24], [3, 128, 40], [9, 64, 17]];
    for (const device of await bothDevices(t)) {
      for (const [format, f] of [['float32', null], ...Object.entries(FORMATS)] as const) {
        for (const [M, K, N] of device.kind === 'cpu' ? all : all.slice(0, format === 'float32' ? 2 : 1)) await run(device, format, f, M, K, N, `${device.kind} ${format} ${M}×${K}×${N}`);
      }
    }
    // Columns per lane change the sums only, which the two activations share: checked once (lavapipe
    // compiles each of these shaders for seconds).
    const gpu = await gpuOrSkip(t);
    if (!gpu || activation !== 'silu') return;
    try {
      for (const C of [2, 4]) {
        setSkinnyColumns(C);
        for (const [format, f] of [['float32', null], ...Object.entries(FORMATS)] as const) await run(gpu, format, f, 1, 64, 40, `webgpu C ${C} ${format}`);
      }
    } finally {
      setSkinnyColumns(undefined);
    }
  });
}

test('matmulGated: refuses more than 16 rows, weights of two shapes and unknown activations', (t) => {
  const w = r.tensor(f32Values(24 * 64, 1), [24, 64], { device: cpu });
  const x = r.tensor(f32Values(17 * 64, 2), [17, 64], { device: cpu });
  t.throws(() => r.noGrad(() => r.matmulSwiglu(x, w, w)), { message: /matmulGated: x \[17,64\] must have at most 16 rows/ });
  t.throws(() => r.noGrad(() => r.matmulGated(r.narrow(x, 0, 0, 2), w, r.narrow(w, 0, 0, 20), 'gelu_tanh')), { message: /must have one shape/ });
  t.throws(() => r.noGrad(() => r.matmulGated(r.narrow(x, 0, 0, 2), w, w, 'relu' as r.GatedActivation)), { message: /matmulGated: activation must be one of 'silu', 'gelu_tanh', got 'relu'/ });
});

for (const [activation, separate] of [['silu', r.swiglu], ['gelu_tanh', r.geglu]] as const) {
  test(`gatedLinear ${activation}: one matmulGated for a decoding step's gate and up layers, ${separate.name} over their forwards otherwise (more rows, a gradient to record)`, async (t) => {
    const opts = { device: cpu, seed: 1 };
    const [gate, up] = [new r.Linear(64, 32, opts), new r.Linear(64, 32, { ...opts, seed: 2 })];
    for (const rows of [2, 20]) {
      const x = r.tensor(f32Values(rows * 64, 3), [1, rows, 64], { device: cpu });
      const want = await values(r.noGrad(() => separate(gate.forward(x), up.forward(x))));
      t.deepEqual(await values(r.noGrad(() => r.gatedLinear(gate, up, x, activation))), want, `${rows} rows`);
      if (activation === 'silu') t.deepEqual(await values(r.noGrad(() => r.swigluLinear(gate, up, x))), want, `${rows} rows, swigluLinear`);
    }
    const x = r.tensor(f32Values(2 * 64, 3), [1, 2, 64], { device: cpu });
    t.truthy(r.gatedLinear(gate, up, x, activation).node, 'with a gradient to record: the separate ops, with their graph');
  });
}

test('linearGroup: one product for plain layers at a decoding step (biases added after, as Qwen2\'s q/k/v), their own forwards otherwise (more rows, a gradient to record)', async (t) => {
  const opts = { device: cpu, seed: 1 };
  const layers = [new r.Linear(64, 32, opts), new r.Linear(64, 16, { ...opts, seed: 2 })];
  const x = r.tensor(f32Values(2 * 64, 3), [1, 2, 64], { device: cpu });
  const want = await Promise.all(layers.map((l) => values(l.forward(x))));
  const got = r.noGrad(() => r.linearGroup(layers, x));
  t.deepEqual([...got[0].shape], [1, 2, 32]);
  t.deepEqual(await Promise.all(got.map((y) => values(y))), want);
  // With grad on, the layers' weights want gradients: each layer's own forward, with its graph.
  const ys = r.linearGroup(layers, x);
  t.truthy(ys[0].node, 'a graph node: the separate forward ran');
  t.falsy(got[0].node);
  const biased = [new r.Linear(64, 32, { ...opts, bias: true, seed: 3 }), layers[1]];
  // Random biases (a Linear's start at 0, which would hide a missing add).
  biased[0].loadStateDict({ bias: r.tensor(f32Values(32, 9), [32], { device: cpu }) }, { strict: false });
  const grouped = r.noGrad(() => r.linearGroup(biased, x));
  t.deepEqual(await values(grouped[0]), await values(biased[0].forward(x)));
  t.deepEqual(await values(grouped[1]), await values(biased[1].forward(x)));
});

test.serial('webgpu: a group needing more storage buffers than the device allows runs one launch per weight, with the same results', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const [M, K, Ns] = [3, 64, [24, 17, 40]];
  const x = r.tensor(f32Values(M * K, 5), [M, K], { device: gpu });
  const qs = Ns.map((N, i) => r.tidy(() => r.quantizeNf4(r.tensor(f32Values(N * K, 30 + i), [N, K], { device: gpu }))));
  const info = (z: r.Tensor) => ({ storage: z.storage, shape: z.shape, dtype: z.dtype });
  const run = async (maxStorageBuffers: number) => {
    const outs = Ns.map((N) => r.zeros([M, N], { device: gpu }));
    const launch = () => dispatchSkinnyGroup(gpu, info(x), qs.map((q) => [q.codes.storage, q.absmax.storage]), outs.map(info), M, K, Ns, 'nf4', maxStorageBuffers);
    const launches = gpu.canProfile ? (await gpu.profile(launch)).kernels.length : (launch(), undefined);
    const got = await Promise.all(outs.map((o) => values(o)));
    outs.forEach((o) => o.dispose());
    return { got, launches };
  };
  const grouped = await run(16), apart = await run(8); // NF4's q/k/v group needs 11
  if (gpu.canProfile) t.deepEqual([grouped.launches, apart.launches], [1, 3]);
  t.deepEqual(apart.got, grouped.got);
  const separate = await Promise.all(qs.map((q) => values(r.noGrad(() => r.matmulNf4Weight(x, q, { transposeB: true })))));
  t.deepEqual(apart.got, separate);
  for (const z of [x, ...qs.flatMap((q) => [q.codes, q.absmax])]) z.dispose();
});
