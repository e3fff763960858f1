import test from 'ava';
import * as r from '../../src/index.js';
import { ATTENTION_VERSIONS, attention, attentionCost, attentionSharedBytes, attentionUnfused, chooseAttentionTile, visiblePairs, type AttentionOpOptions } from '../../src/kernels/attention/index.js';
import type { WebGPUDevice } from '../../src/device/webgpu/webgpu-device.js';
import { assertClose, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

interface Case {
  B: number;
  H: number;
  Hkv: number;
  T: number;
  D: number;
}

interface Mask {
  name: string;
  opts: AttentionOpOptions;
  /** Right-pad the first batch entry (lengths [T − 5 clamped at 0, T, T, …]). */
  pad?: boolean;
}

const MASKS: Mask[] = [
  { name: 'full', opts: { causal: false } },
  { name: 'causal', opts: {} },
  { name: 'causal+padding', opts: {}, pad: true },
  { name: 'full+padding', opts: { causal: false }, pad: true },
  { name: 'window 1+padding', opts: { window: 1 }, pad: true },
  { name: 'window 3', opts: { window: 3 } },
  { name: 'window > T+padding', opts: { window: 1000 }, pad: true },
];

const TS = [1, 7, 33, 65];
const DS = [8, 16, 64];
const HKVS = [4, 2, 1];

/** Every (T, D, Hkv) with B = 2, H = 4. */
const GRID: Case[] = TS.flatMap((T) => DS.flatMap((D) => HKVS.map((Hkv) => ({ B: 2, H: 4, Hkv, T, D }))));

const label = (c: Case, m: Mask) => `B${c.B} H${c.H} Hkv${c.Hkv} T${c.T} D${c.D} ${m.name}`;

function lengths(c: Case): number[] {
  return Array.from({ length: c.B }, (_, b) => (b === 0 ? Math.max(0, c.T - 5) : c.T));
}

interface Inputs {
  q: r.Tensor;
  k: r.Tensor;
  v: r.Tensor;
  opts: AttentionOpOptions;
}

/** Seeded q, k, v (values in [lo, hi)) on a device; float64 on the cpu, float32 on webgpu. */
function inputs(c: Case, m: Mask, device: r.Device, seed: number, requiresGrad = false, lo = -1, hi = 1, dtype?: r.DType): Inputs {
  const dt = dtype ?? (device.kind === 'cpu' ? 'float64' : 'float32');
  const mk = (heads: number, s: number) => r.tensor(randomValues(c.B * heads * c.T * c.D, s, lo, hi), [c.B, heads, c.T, c.D], { device, dtype: dt, requiresGrad });
  const opts: AttentionOpOptions = { ...m.opts };
  if (m.pad) opts.keyPadding = r.tensor(lengths(c), [c.B], { device, dtype: 'int32' });
  return { q: mk(c.H, seed), k: mk(c.Hkv, seed + 1), v: mk(c.Hkv, seed + 2), opts };
}

type AttentionFn = (q: r.Tensor, k: r.Tensor, v: r.Tensor, opts?: AttentionOpOptions) => r.Tensor;

/** The output and the gradients of Σ w ⊙ f(q, k, v) for a fixed random w. */
async function run(f: AttentionFn, x: Inputs, seed: number): Promise<{ out: number[]; dq: number[]; dk: number[]; dv: number[] }> {
  const w = r.tensor(randomValues(x.q.size, seed + 3), x.q.shape, { device: x.q.device, dtype: x.q.dtype });
  const out = r.tidy(() => {
    const o = f(x.q, x.k, x.v, x.opts);
    r.sum(r.mul(o, w)).backward();
    return r.keep(r.reshape(o, o.shape));
  });
  const res = { out: await values(out), dq: await values(x.q.grad!), dk: await values(x.k.grad!), dv: await values(x.v.grad!) };
  for (const t of [out, w, x.q, x.k, x.v, x.opts.keyPadding]) t?.dispose();
  return res;
}

async function forward(f: AttentionFn, x: Inputs): Promise<number[]> {
  const o = f(x.q, x.k, x.v, x.opts);
  const res = await values(o);
  for (const t of [o, x.q, x.k, x.v, x.opts.keyPadding]) t?.dispose();
  return res;
}

test('cpu: the fused reference matches the unfused composition (forward, every mask and shape)', async (t) => {
  for (const [n, c] of GRID.entries()) {
    for (const m of MASKS) {
      const want = await forward(attentionUnfused, inputs(c, m, cpu, 10 * n));
      const got = await forward(attention, inputs(c, m, cpu, 10 * n));
      assertClose(t, got, want, { rtol: 1e-10, atol: 1e-12 }, label(c, m));
    }
  }
});

test('cpu: the fused backward matches autograd through the unfused composition', async (t) => {
  for (const [n, c] of GRID.entries()) {
    const m = MASKS[n % MASKS.length];
    const want = await run(attentionUnfused, inputs(c, m, cpu, 7 * n, true), 7 * n);
    const got = await run(attention, inputs(c, m, cpu, 7 * n, true), 7 * n);
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-9, atol: 1e-11 }, `${label(c, m)} ${key}`);
  }
});

const GRADCHECK: [Case, Mask, number[]?][] = [
  [{ B: 2, H: 2, Hkv: 1, T: 5, D: 3 }, MASKS[0]],
  [{ B: 2, H: 2, Hkv: 1, T: 5, D: 3 }, MASKS[2]],
  [{ B: 1, H: 2, Hkv: 2, T: 6, D: 2 }, MASKS[5]],
  [{ B: 2, H: 4, Hkv: 2, T: 4, D: 3 }, { name: 'window 2+padding', opts: { window: 2 }, pad: true }],
];

for (const [c, m] of GRADCHECK) {
  test(`gradcheck (cpu float64): ${label(c, m)}`, async (t) => {
    const x = inputs(c, m, cpu, 99, true, -2, 2);
    const res = await r.gradcheck((q, k, v) => attention(q, k, v, x.opts), [x.q, x.k, x.v]);
    t.true(res.ok, JSON.stringify(res));
    // The unfused composition's autograd passes the same check (it is the reference).
    const res2 = await r.gradcheck((q, k, v) => attentionUnfused(q, k, v, x.opts), [x.q, x.k, x.v]);
    t.true(res2.ok, JSON.stringify(res2));
  });
}

test('webgpu: the fused forward matches the cpu reference (every mask and shape)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [n, c] of GRID.entries()) {
    for (const m of MASKS) {
      const want = await forward(attention, inputs(c, m, cpu, 10 * n));
      const got = await forward(attention, inputs(c, m, gpu, 10 * n));
      assertClose(t, got, want, { rtol: 1e-4, atol: 2e-6 }, label(c, m));
    }
  }
});

test('webgpu: dQ, dK, dV match the cpu reference', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [n, c] of GRID.entries()) {
    for (const m of [MASKS[n % MASKS.length], MASKS[(n + 3) % MASKS.length]]) {
      const want = await run(attention, inputs(c, m, cpu, 5 * n, true), 5 * n);
      const got = await run(attention, inputs(c, m, gpu, 5 * n, true), 5 * n);
      for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-3, atol: 1e-5 }, `${label(c, m)} ${key}`);
    }
  }
});

test('webgpu: dQ, dK, dV match autograd through attentionUnfused on webgpu', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const cases: [Case, Mask][] = [
    [{ B: 2, H: 4, Hkv: 2, T: 33, D: 16 }, MASKS[2]],
    [{ B: 2, H: 4, Hkv: 1, T: 65, D: 64 }, MASKS[4]],
    [{ B: 2, H: 4, Hkv: 4, T: 7, D: 8 }, MASKS[3]],
    // head_dim 128 (LLaMA-2 7B and larger); small T keeps lavapipe quick.
    [{ B: 1, H: 4, Hkv: 2, T: 40, D: 128 }, MASKS[2]],
  ];
  for (const [n, [c, m]] of cases.entries()) {
    const want = await run(attentionUnfused, inputs(c, m, gpu, 3 * n, true), 3 * n);
    const got = await run(attention, inputs(c, m, gpu, 3 * n, true), 3 * n);
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-3, atol: 1e-5 }, `${label(c, m)} ${key}`);
  }
});

test('webgpu: every tile version that fits matches the cpu reference (head_dim not a multiple of 8)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const c: Case = { B: 2, H: 4, Hkv: 2, T: 70, D: 20 };
  const m = MASKS[4];
  const want = await run(attention, inputs(c, m, cpu, 1, true), 1);
  for (const v of ATTENTION_VERSIONS) {
    const fits = (['forward', 'dq', 'dkv'] as const).every((k) => attentionSharedBytes(k, v[k], c.D) <= gpu.limits.maxComputeWorkgroupStorageSize);
    if (!fits) {
      t.log(`tile version ${v.version} does not fit this adapter at head_dim ${c.D}`);
      continue;
    }
    const x = inputs(c, m, gpu, 1, true);
    const got = await run((q, k, vv, o) => attention(q, k, vv, { ...o, version: v.version }), x, 1);
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-3, atol: 1e-5 }, `v${v.version} ${key}`);
  }
});

test('webgpu: GQA dK/dV summed in registers (per kv head) and per query head then summed agree with the cpu', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [n, c] of [{ B: 2, H: 4, Hkv: 1, T: 45, D: 16 }, { B: 2, H: 6, Hkv: 2, T: 20, D: 12 }].entries()) {
    const m = MASKS[n + 2];
    const want = await run(attention, inputs(c, m, cpu, 2, true), 2);
    for (const splitGroups of [false, true]) {
      const got = await run((q, k, v, o) => attention(q, k, v, { ...o, splitGroups }), inputs(c, m, gpu, 2, true), 2);
      for (const key of ['dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-3, atol: 1e-5 }, `${label(c, m)} split ${splitGroups} ${key}`);
    }
  }
});

test('large logits stay finite and agree (online softmax subtracts the running max)', async (t) => {
  const gpu = await gpuOrSkip(t);
  const c: Case = { B: 2, H: 4, Hkv: 2, T: 33, D: 16 };
  for (const m of [MASKS[1], MASKS[3]]) {
    for (const scale of [300, -300]) {
      // |S| reaches ~1e4: exp overflows without the max subtraction, and P is nearly one-hot.
      const mask = { ...m, opts: { ...m.opts, scale } };
      const want = await run(attention, inputs(c, mask, cpu, 4, true, -3, 3), 4);
      const ref = await run(attentionUnfused, inputs(c, mask, cpu, 4, true, -3, 3), 4);
      for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
        t.true(want[key].every(Number.isFinite), `cpu ${key} finite`);
        assertClose(t, want[key], ref[key], { rtol: 1e-8, atol: 1e-8 }, `cpu fused vs unfused ${key} scale ${scale}`);
      }
      if (!gpu) continue;
      const got = await run(attention, inputs(c, mask, gpu, 4, true, -3, 3), 4);
      for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
        t.true(got[key].every(Number.isFinite), `webgpu ${key} finite`);
      }
      // Outputs are (near) one-hot picks of v rows: compare them; gradients scale with 300 and
      // with how close the top two scores are, so only their finiteness and size are checked.
      assertClose(t, got.out, want.out, { rtol: 1e-3, atol: 1e-3 }, `${m.name} scale ${scale} out`);
      for (const key of ['dq', 'dk', 'dv'] as const) {
        const big = Math.max(...want[key].map(Math.abs));
        t.true(Math.max(...got[key].map(Math.abs)) <= 2 * big + 1e-3, `${key} bounded`);
      }
    }
  }
});

test('queries that see no key output zeros with zero gradients; lengths are clamped to [0, T]', async (t) => {
  const gpu = await gpuOrSkip(t);
  const c: Case = { B: 3, H: 2, Hkv: 1, T: 9, D: 8 };
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    for (const f of [attention, attentionUnfused]) {
      // Entry 0 has no valid key; entry 1 is longer than T (clamped to T); entry 2 has 4 keys and a
      // window of 2, so its padded queries 5.. see nothing.
      const x = inputs(c, { name: '', opts: { window: 2 } }, device, 8, true);
      x.opts.keyPadding = r.tensor([0, 50, 4], [3], { device, dtype: 'int32' });
      const res = await run(f, x, 8);
      const per = c.H * c.T * c.D;
      const name = `${device.kind} ${f === attention ? 'fused' : 'unfused'}`;
      t.true(res.out.slice(0, per).every((v) => v === 0), `${name}: entry 0 outputs zeros`);
      t.true(res.dq.slice(0, per).every((v) => v === 0), `${name}: entry 0 dq is zero`);
      t.true(res.dk.slice(0, per / 2).every((v) => v === 0) && res.dv.slice(0, per / 2).every((v) => v === 0), `${name}: entry 0 dk, dv zero`);
      for (let h = 0; h < c.H; h++) {
        for (let i = 5; i < c.T; i++) {
          const row = res.out.slice(((2 * c.H + h) * c.T + i) * c.D, ((2 * c.H + h) * c.T + i + 1) * c.D);
          t.true(row.every((v) => v === 0), `${name}: entry 2 head ${h} query ${i} is zero`);
        }
      }
      t.true([...res.out, ...res.dq, ...res.dk, ...res.dv].every(Number.isFinite), `${name}: finite`);
      // Entry 1 (length 50 > T) equals the unpadded result.
      const y = inputs(c, { name: '', opts: { window: 2 } }, device, 8, true);
      const full = await run(f, y, 8);
      const one = (a: number[]) => a.slice(per, 2 * per);
      assertClose(t, one(res.out), one(full.out), { rtol: 1e-6, atol: 1e-7 }, `${name}: clamped length`);
    }
  }
});

// Serial: the allocation spy and the live-buffer counts must not see other tests' tensors.
test.serial('no T×T buffer: the largest allocation of fused forward + backward is O(T·D)', async (t) => {
  const gpu = await gpuOrSkip(t);
  const c: Case = { B: 1, H: 2, Hkv: 1, T: 300, D: 8 };
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = inputs(c, MASKS[2], device, 2, true);
    const alloc = device.alloc.bind(device);
    let largest = 0;
    device.alloc = (dtype: r.DType, length: number) => {
      largest = Math.max(largest, length);
      return alloc(dtype, length);
    };
    try {
      await run(attention, x, 2);
    } finally {
      delete (device as { alloc?: unknown }).alloc;
    }
    t.true(largest <= c.B * c.H * c.T * c.D, `${device.kind}: largest buffer ${largest} elements`);
  }
});

test.serial('memory: the log-sum-exp is freed when no graph keeps it; tidy frees everything', async (t) => {
  const gpu = await gpuOrSkip(t);
  const c: Case = { B: 2, H: 4, Hkv: 2, T: 17, D: 8 };
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = inputs(c, MASKS[2], device, 1);
    const before = device.memory().liveBuffers;
    const o = attention(x.q, x.k, x.v, x.opts);
    t.is(device.memory().liveBuffers, before + 1, `${device.kind}: only the output stays`);
    o.dispose();
    x.q.requiresGrad = true;
    r.tidy(() => attention(x.q, x.k, x.v, x.opts).sum().backward());
    x.q.zeroGrad();
    t.is(device.memory().liveBuffers, before, `${device.kind}: fwd + bwd in tidy leaves nothing`);
    for (const tt of [x.q, x.k, x.v, x.opts.keyPadding]) tt?.dispose();
  }
});

test('a window of T or more is no window (even past u32); empty sequences give empty outputs', async (t) => {
  const gpu = await gpuOrSkip(t);
  const c: Case = { B: 2, H: 4, Hkv: 2, T: 33, D: 8 };
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const want = await forward(attention, inputs(c, MASKS[2], device, 3));
    for (const window of [33, 2 ** 40]) {
      const got = await forward(attention, inputs(c, { ...MASKS[2], opts: { window } }, device, 3));
      t.deepEqual(got, want, `${device.kind} window ${window}`);
    }
    const e = r.zeros([2, 4, 0, 8], { device });
    const o = attention(e, r.zeros([2, 2, 0, 8], { device }), r.zeros([2, 2, 0, 8], { device }));
    t.deepEqual(o.shape, [2, 4, 0, 8]);
    t.deepEqual(await values(o), []);
  }
});

test('float32 on the cpu device runs the same reference', async (t) => {
  const c: Case = { B: 2, H: 4, Hkv: 2, T: 7, D: 8 };
  const want = await run(attention, inputs(c, MASKS[2], cpu, 6, true), 6);
  const got = await run(attention, inputs(c, MASKS[2], cpu, 6, true, -1, 1, 'float32'), 6);
  for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-4, atol: 1e-6 }, key);
});

test('errors name what is wrong', (t) => {
  const x = (shape: number[], dtype: r.DType = 'float64') => r.zeros(shape, { device: cpu, dtype });
  const q = x([2, 4, 5, 8]), k = x([2, 2, 5, 8]);
  t.throws(() => attention(x([4, 5, 8]), k, k), { message: /q must be \[B, H, T, D\]/ });
  t.throws(() => attention(q, x([2, 3, 5, 8]), x([2, 3, 5, 8])), { message: /3 kv heads of k must divide the 4 query heads/ });
  t.throws(() => attention(q, x([2, 2, 6, 8]), x([2, 2, 6, 8])), { message: /does not match q/ });
  t.throws(() => attention(q, k, x([2, 2, 5, 4])), { message: /v \[2,2,5,4\] must have k's shape/ });
  t.throws(() => attention(q, k, x([2, 2, 5, 8], 'float32')), { message: /share a dtype/ });
  t.throws(() => attention(q, k, k, { window: 2, causal: false }), { message: /sliding window needs causal/ });
  t.throws(() => attention(q, k, k, { window: 0 }), { message: /window must be an integer ≥ 1/ });
  t.throws(() => attention(x([2, 4, 5, 0]), x([2, 2, 5, 0]), x([2, 2, 5, 0])), { message: /head_dim .* is 0/ });
  t.throws(() => attention(q, k, k, { keyPadding: x([2]) }), { message: /keyPadding must be int32/ });
  t.throws(() => attention(q, k, k, { keyPadding: r.tensor([1, 2, 3], [3], { device: cpu, dtype: 'int32' }) }), { message: /keyPadding must be \[B\] = \[2\]/ });
});

test('tile choice: the largest tile that fits, then the most threads (v6 at 48 KiB, as measured on an H200)', (t) => {
  const adapter = (bytes: number, invocations: number) =>
    ({ limits: { maxComputeWorkgroupStorageSize: bytes, maxComputeInvocationsPerWorkgroup: invocations, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256 } }) as unknown as WebGPUDevice;
  const pick = (bytes: number, invocations: number, D = 64) =>
    (['forward', 'dq', 'dkv'] as const).map((k) => chooseAttentionTile(adapter(bytes, invocations), k, D));
  const v = (n: number) => ATTENTION_VERSIONS[n];
  t.deepEqual(pick(49152, 1024), [v(6).forward, v(6).dq, v(6).dkv]);
  t.deepEqual(pick(49152, 128), [v(5).forward, v(5).dq, v(5).dkv], 'at most 128 threads');
  t.deepEqual(pick(32768, 1024), [v(3).forward, v(2).dq, v(3).dkv], 'lavapipe');
  t.throws(() => chooseAttentionTile(adapter(32768, 1024), 'dq', 64, 6), { message: /tile version 6 needs \d+ bytes of workgroup memory for the dq kernel at head_dim 64; this adapter has 32768/ });
});

// Soft-capping (Gemma-2) and head_dim in chunks (head_dim 256, or 16 KiB of workgroup memory).

/** Masks with softcap on: a cap that bends the scores (1.5) and Gemma-2's (50). */
const CAPPED: Mask[] = [
  { name: 'causal+padding softcap 1.5', opts: { softcap: 1.5 }, pad: true },
  { name: 'window 4+padding softcap 50', opts: { window: 4, softcap: 50, scale: 2 }, pad: true },
  { name: 'full softcap 1.5', opts: { causal: false, softcap: 1.5 } },
];

test('cpu: soft-capped attention, forward and backward, matches the unfused composition (tanh)', async (t) => {
  const cases: Case[] = [{ B: 2, H: 4, Hkv: 2, T: 9, D: 8 }, { B: 2, H: 4, Hkv: 1, T: 17, D: 5 }];
  for (const [n, c] of cases.entries()) {
    for (const m of CAPPED) {
      const want = await run(attentionUnfused, inputs(c, m, cpu, 11 * n, true, -2, 2), 11 * n);
      const got = await run(attention, inputs(c, m, cpu, 11 * n, true, -2, 2), 11 * n);
      for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-9, atol: 1e-11 }, `${label(c, m)} ${key}`);
    }
  }
  // The cap changes the result: without it the outputs differ.
  const c = cases[0], m = CAPPED[0];
  const plain = await forward(attention, inputs(c, { ...m, opts: { ...m.opts, softcap: 0 } }, cpu, 1, false, -2, 2));
  const capped = await forward(attention, inputs(c, m, cpu, 1, false, -2, 2));
  t.true(plain.some((x, i) => Math.abs(x - capped[i]) > 1e-3), 'softcap 1.5 changes the output');
});

for (const [c, m] of [
  [{ B: 2, H: 2, Hkv: 1, T: 5, D: 3 }, CAPPED[0]],
  [{ B: 2, H: 4, Hkv: 2, T: 6, D: 3 }, { name: 'window 2+padding softcap 0.7', opts: { window: 2, softcap: 0.7 }, pad: true }],
] as [Case, Mask][]) {
  test(`gradcheck (cpu float64) through the softcap: ${label(c, m)}`, async (t) => {
    const x = inputs(c, m, cpu, 98, true, -2, 2);
    const res = await r.gradcheck((q, k, v) => attention(q, k, v, x.opts), [x.q, x.k, x.v]);
    t.true(res.ok, JSON.stringify(res));
  });
}

// lavapipe compiles every (tile, head_dim, variant) pipeline with LLVM, seconds each, so the WebGPU
// cases below are few and small.
test('webgpu: soft-capped forward and backward match the cpu reference (whole rows)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const c: Case = { B: 2, H: 4, Hkv: 2, T: 33, D: 16 };
  for (const [n, m] of CAPPED.slice(0, 2).entries()) {
    const want = await run(attention, inputs(c, m, cpu, 13 * n, true, -2, 2), 13 * n);
    const got = await run(attention, inputs(c, m, gpu, 13 * n, true, -2, 2), 13 * n);
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-3, atol: 2e-5 }, `${label(c, m)} ${key}`);
  }
});

test('webgpu: head_dim staged in chunks matches the cpu reference (partial last chunk, head_dim not a multiple of 4, softcap, both GQA strategies)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const c: Case = { B: 2, H: 4, Hkv: 1, T: 21, D: 38 };
  const runs: [Mask, AttentionOpOptions][] = [[CAPPED[0], { headChunk: 32 }], [MASKS[4], { headChunk: 32, splitGroups: true }], [MASKS[4], { headChunk: 32, splitGroups: false }]];
  for (const [n, [m, extra]] of runs.entries()) {
    const want = await run(attention, inputs(c, m, cpu, 17 * n, true, -2, 2), 17 * n);
    const got = await run((q, k, v, o) => attention(q, k, v, { ...o, ...extra }), inputs(c, m, gpu, 17 * n, true, -2, 2), 17 * n);
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-3, atol: 2e-5 }, `${label(c, m)} ${JSON.stringify(extra)} ${key}`);
  }
});

/** Runs f with the adapter's workgroup memory limit reported as `bytes` (what the tile chooser reads). */
async function withWorkgroupBytes<T>(gpu: WebGPUDevice, bytes: number, f: () => Promise<T>): Promise<T> {
  const real = gpu.limits;
  const limits = new Proxy(real, { get: (l, key) => (key === 'maxComputeWorkgroupStorageSize' ? bytes : (l as unknown as Record<string | symbol, unknown>)[key]) });
  Object.defineProperty(gpu, 'limits', { value: limits, configurable: true });
  try {
    return await f();
  } finally {
    delete (gpu as { limits?: unknown }).limits;
  }
}

/** Gemma-2-like: head_dim 256, GQA, padding, a window and softcap 50 (scale 1/√256 · 4 so the cap bends some scores). */
const GEMMA: Mask = { name: 'window 7+padding softcap 50', opts: { window: 7, softcap: 50, scale: 0.25 }, pad: true };

// Serial: the limit override must not reach other tests' launches.
for (const [n, c] of [{ B: 2, H: 4, Hkv: 2, T: 19, D: 256 }, { B: 2, H: 4, Hkv: 1, T: 19, D: 128 }].entries()) {
  test.serial(`webgpu: head_dim ${c.D} under the WebGPU default of 16384 bytes of workgroup memory matches the cpu reference`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    const want = await run(attention, inputs(c, GEMMA, cpu, 23 * n, true, -2, 2), 23 * n);
    const got = await withWorkgroupBytes(gpu, 16384, async () => {
      const tiles = (['forward', 'dq', 'dkv'] as const).map((k) => chooseAttentionTile(gpu, k, c.D));
      for (const [i, k] of (['forward', 'dq', 'dkv'] as const).entries()) t.true(attentionSharedBytes(k, tiles[i], c.D) <= 16384, `${k} fits 16 KiB`);
      t.true(tiles.slice(c.D === 256 ? 0 : 1).every((x) => x.headChunk !== undefined), 'the kernels that need them stage chunks');
      return run(attention, inputs(c, GEMMA, gpu, 23 * n, true, -2, 2), 23 * n);
    });
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(t, got[key], want[key], { rtol: 1e-3, atol: 2e-5 }, `${label(c, GEMMA)} 16 KiB ${key}`);
  });
}

test('webgpu: head_dim 256 (Gemma-2) forward and backward with the adapter\'s own limit match the cpu reference and autograd through attentionUnfused', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const c: Case = { B: 2, H: 4, Hkv: 2, T: 19, D: 256 };
  const want = await run(attention, inputs(c, GEMMA, cpu, 29, true, -2, 2), 29);
  const got = await run(attention, inputs(c, GEMMA, gpu, 29, true, -2, 2), 29);
  const unfused = await run(attentionUnfused, inputs(c, GEMMA, gpu, 29, true, -2, 2), 29);
  for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
    assertClose(t, got[key], want[key], { rtol: 1e-3, atol: 2e-5 }, `fused vs cpu ${key}`);
    assertClose(t, unfused[key], want[key], { rtol: 1e-3, atol: 2e-5 }, `unfused on webgpu vs cpu ${key}`);
  }
});

test('tile choice: whole rows while they fit; head_dim in chunks when none does (16 KiB at head_dim 256, and any head_dim)', (t) => {
  const adapter = (bytes: number) =>
    ({ limits: { maxComputeWorkgroupStorageSize: bytes, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256 } }) as unknown as WebGPUDevice;
  const kernels = ['forward', 'dq', 'dkv'] as const;
  // head_dim 64 and 128 keep whole rows at 16 and 32 KiB.
  for (const bytes of [16384, 32768]) for (const D of [64, 128]) for (const k of kernels) {
    if (D === 128 && bytes === 16384 && k !== 'forward') continue;
    t.is(chooseAttentionTile(adapter(bytes), k, D).headChunk, undefined, `${k} D ${D} at ${bytes}`);
  }
  for (const D of [256, 512, 1000]) {
    for (const k of kernels) {
      const tile = chooseAttentionTile(adapter(16384), k, D);
      t.true(tile.headChunk !== undefined && attentionSharedBytes(k, tile, D) <= 16384, `${k} D ${D}: ${JSON.stringify(tile)}`);
    }
  }
  t.throws(() => chooseAttentionTile(adapter(32768), 'dq', 64, 0, 20), { message: /headChunk must be a positive multiple of 32/ });
  t.throws(() => chooseAttentionTile(adapter(32768), 'dq', 64, undefined, 20), { message: /headChunk must be a positive multiple of 32/ });
  t.throws(() => attention(r.zeros([1, 1, 2, 4], { device: cpu }), r.zeros([1, 1, 2, 4], { device: cpu }), r.zeros([1, 1, 2, 4], { device: cpu }), { softcap: -1 }), { message: /softcap must be a finite number ≥ 0/ });
});

test('cost: visible pairs, FLOPs and bytes', (t) => {
  t.is(visiblePairs(4, 4, false, 0), 16);
  t.is(visiblePairs(4, 4, true, 0), 10);
  t.is(visiblePairs(4, 3, true, 0), 9);
  t.is(visiblePairs(5, 5, true, 2), 9);
  const dims = { B: 1, H: 2, Hkv: 1, T: 4, D: 8 };
  const cost = attentionCost(dims, { causal: true });
  t.is(cost.forward.flops, 2 * 10 * (4 * 8 + 5));
  t.is(cost.backward.flops, 2 * 10 * (10 * 8 + 5) + 2 * 4 * 2 * 8);
  // forward: q, k, v, O, LSE in float32
  t.is(cost.forward.bytes, 4 * (64 + 2 * 32 + 64 + 8));
  t.is(attentionCost(dims, { causal: false, lengths: [2] }).forward.flops, 2 * 8 * (4 * 8 + 5));
});

test.after.always(async () => {
  await r.shutdown();
});
