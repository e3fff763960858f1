import test from 'ava';
import * as r from '../../src/index.js';
import type { Device, Tensor } from '../../src/index.js';
import { sequenceLogprobs, tokenLogprobs } from '../../src/kernels/logprobs/index.js';
import { tokenLogprobsCost, tokenLogprobsGradCost } from '../../src/kernels/logprobs/contract.js';
import type { WebGPUDevice } from '../../src/device/webgpu/webgpu-device.js';
import { assertClose, cpu, gpuOrSkip, randomValues, rng, values } from '../helpers/devices.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

type MaskKind = 'none' | 'float' | 'int';

interface Case {
  /** [..., V] */
  shape: number[];
  seed: number;
  mask: MaskKind;
}

/** Vocabularies 1, 7, 1000, 32003; row counts 1, primes, not multiples of anything. */
const CASES: Case[] = [
  { shape: [1, 1, 1], seed: 1, mask: 'none' },
  { shape: [2, 3, 1], seed: 2, mask: 'float' },
  { shape: [2, 3, 7], seed: 3, mask: 'float' },
  { shape: [5, 7], seed: 4, mask: 'int' },
  { shape: [3, 5, 1000], seed: 5, mask: 'float' },
  { shape: [1, 7, 1000], seed: 6, mask: 'none' },
  { shape: [1, 3, 32003], seed: 7, mask: 'int' },
  { shape: [2, 2, 32003], seed: 8, mask: 'float' },
  { shape: [37, 33], seed: 9, mask: 'int' },
];

/** Random logits, in-range targets, and a mask with zeros whose targets are out of range (−100). */
function makeInputs({ shape, seed, mask }: Case) {
  const V = shape[shape.length - 1];
  const lead = shape.slice(0, -1);
  const rows = size(lead);
  const g = rng(seed * 7 + 1);
  const m = Array.from({ length: rows }, (_, i) => (mask === 'none' ? 1 : i % 3 === 1 ? 0 : mask === 'float' ? [1, 0.5, 2][i % 3] : 1));
  const ids = Array.from({ length: rows }, (_, i) => (m[i] === 0 ? -100 : Math.floor(g() * V)));
  return { V, lead, rows, logits: randomValues(size(shape), seed, -6, 6), ids, m, w: randomValues(rows, seed + 100) };
}

/** Forward output and the gradient of Σ w ⊙ out, on one device. */
async function run(device: Device, c: Case, softcap = 0) {
  const { lead, logits, ids, m, w } = makeInputs(c);
  const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
  const x = r.tensor(logits, c.shape, { device, dtype, requiresGrad: true });
  const targets = r.tensor(ids, lead, { device, dtype: 'int32' });
  const mask = c.mask === 'none' ? undefined : r.tensor(m, lead, { device, dtype: c.mask === 'int' ? 'int32' : dtype });
  const out = r.tidy(() => {
    const y = tokenLogprobs(x, targets, mask, { softcap });
    r.sum(r.mul(y, r.tensor(w, lead, { device, dtype }))).backward();
    return y;
  });
  const res = { shape: out.shape, out: await values(out), grad: await values(x.grad!) };
  for (const t of [x, targets, mask, out]) t?.dispose();
  return res;
}

test('tokenLogprobs: webgpu matches the cpu reference (forward and gradient), V in {1, 7, 1000, 32003}, masks', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const c of CASES) {
    const what = `[${c.shape}] mask ${c.mask}`;
    const want = await run(cpu, c);
    const got = await run(gpu, c);
    t.deepEqual(got.shape, c.shape.slice(0, -1), what);
    assertClose(t, got.out, want.out, { rtol: 1e-5, atol: 2e-5 }, `${what} out`);
    // 1 − p at the target cancels when p ≈ 1: f32 keeps ~1e-7 absolute there, as in PyTorch.
    assertClose(t, got.grad, want.grad, { rtol: 1e-4, atol: 1e-6 }, `${what} grad`);
    // Masked positions are exactly 0 in the output and in every gradient entry of their row.
    const { m, V } = makeInputs(c);
    m.forEach((mi, i) => {
      if (mi !== 0) return;
      t.is(got.out[i], 0, `${what} masked out[${i}]`);
      t.true(got.grad.slice(i * V, (i + 1) * V).every((g) => g === 0), `${what} masked grad row ${i}`);
    });
  }
});

test('tokenLogprobs: more than 65535 rows fold into a 2-D grid', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const c: Case = { shape: [66001, 3], seed: 11, mask: 'float' };
  const want = await run(cpu, c);
  const got = await run(gpu, c);
  assertClose(t, got.out, want.out, { rtol: 1e-5, atol: 1e-6 }, 'out');
  assertClose(t, got.grad, want.grad, { rtol: 1e-4, atol: 1e-6 }, 'grad');
});

test('tokenLogprobs: logits at ±1e4 give exact log-probs and gradients, on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const rows = [
      [1e4, -1e4, 0, 5],      // target the max: log p = −log(1 + e^−1e4 + …) = 0
      [1e4, 1e4, -1e4, 0],    // two tied maxima: −log 2
      [-1e4, -1e4, -1e4, -1e4], // uniform: −log 4
      [1e4, -1e4, 1e4 - 1, 0],  // target 1e4 − 1: −1 − log(1 + e^−1)
      [-1e4, 1e4, 0, 0],        // target far below the max: −2e4
    ];
    const ids = [0, 1, 3, 2, 0];
    const x = r.tensor(rows, undefined, { device, requiresGrad: true });
    const targets = r.tensor(ids, [5], { device, dtype: 'int32' });
    const y = r.tidy(() => {
      const out = tokenLogprobs(x, targets);
      r.sum(out).backward();
      return out;
    });
    const want = [0, -Math.LN2, -Math.log(4), -1 - Math.log1p(Math.exp(-1)), -2e4];
    assertClose(t, await values(y), want, { rtol: 1e-6, atol: 1e-6 }, `${device.kind} out`);
    const p3 = 1 / (1 + Math.E); // softmax of row 3 at the 1e4 − 1 entry
    const wantGrad = [
      [0, 0, 0, 0],
      [-0.5, 0.5, 0, 0],
      [-0.25, -0.25, -0.25, 0.75],
      [-(1 - p3), 0, 1 - p3, 0],
      [1, -1, 0, 0],
    ].flat();
    const grad = await values(x.grad!);
    t.true(grad.every(Number.isFinite), `${device.kind} grad finite`);
    assertClose(t, grad, wantGrad, { rtol: 1e-5, atol: 1e-6 }, `${device.kind} grad`);
    for (const z of [x, targets, y]) z.dispose();
  }
});

test('tokenLogprobs: rows without a finite log-sum-exp give NaN; masked ones stay 0', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([[-Infinity, -Infinity, -Infinity], [0, -Infinity, 1], [Infinity, 0, 0], [Infinity, NaN, 0]], undefined, { device });
    const y = tokenLogprobs(x, r.tensor([0, 2, 1, 0], [4], { device, dtype: 'int32' }), r.tensor([1, 1, 1, 0], [4], { device, dtype: 'int32' }));
    const got = await values(y);
    t.true(Number.isNaN(got[0]) && Number.isNaN(got[2]), `${device.kind}: ${got}`);
    assertClose(t, [got[1]], [1 - Math.log(1 + Math.E)], { rtol: 1e-6 }, `${device.kind} -Inf entries get probability 0`);
    t.is(got[3], 0, `${device.kind}: masked row`);
  }
});

test('tokenLogprobs: gradcheck (float64 on the cpu), with and without a mask', async (t) => {
  const shape = [2, 3, 5];
  const x = r.tensor(randomValues(30, 3, -3, 3), shape, { device: cpu, dtype: 'float64', requiresGrad: true });
  const ids = r.tensor([0, 4, 2, 1, 3, 3], [2, 3], { device: cpu, dtype: 'int32' });
  const mask = r.tensor([1, 0, 0.5, 2, 1, 0], [2, 3], { device: cpu, dtype: 'float64' });
  for (const [what, f] of [
    ['no mask', (a: Tensor) => tokenLogprobs(a, ids)],
    ['float mask', (a: Tensor) => tokenLogprobs(a, ids, mask)],
    ['sequenceLogprobs', (a: Tensor) => sequenceLogprobs(a, ids, mask)],
  ] as const) {
    const res = await r.gradcheck(f, [x]);
    t.true(res.ok, `${what}: ${JSON.stringify(res)}`);
  }
});

test('tokenLogprobs: value and gradient equal autograd through logSoftmax + gather, on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  const shape = [3, 4, 11];
  const lead = [3, 4];
  const g = rng(5);
  const ids = Array.from({ length: 12 }, () => Math.floor(g() * 11));
  const m = [1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1];
  const w = randomValues(12, 6);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
    const results: number[][] = [];
    for (const fused of [true, false]) {
      const x = r.tensor(randomValues(size(shape), 4, -5, 5), shape, { device, dtype, requiresGrad: true });
      const targets = r.tensor(ids, lead, { device, dtype: 'int32' });
      const mask = r.tensor(m, lead, { device, dtype });
      const y = r.tidy(() => {
        const out = fused
          ? tokenLogprobs(x, targets, mask)
          : r.mul(r.squeeze(r.gather(r.logSoftmax(x), -1, r.unsqueeze(targets, -1)), -1), mask);
        r.sum(r.mul(out, r.tensor(w, lead, { device, dtype }))).backward();
        return out;
      });
      results.push([...(await values(y)), ...(await values(x.grad!))]);
      for (const z of [x, targets, mask, y]) z.dispose();
    }
    assertClose(t, results[0], results[1], device.kind === 'cpu' ? { rtol: 1e-12, atol: 1e-14 } : { rtol: 1e-5, atol: 1e-6 }, device.kind);
  }
});

/** Soft-capped log-probs as existing ops compute them: logSoftmax(softcap(x)) gathered, times the mask. */
function cappedComposition(x: Tensor, targets: Tensor, mask: Tensor, cap: number): Tensor {
  return r.mul(r.squeeze(r.gather(r.logSoftmax(r.softcap(x, cap)), -1, r.unsqueeze(targets, -1)), -1), mask);
}

test('tokenLogprobs with softcap: value and gradient equal autograd through softcap + logSoftmax + gather, on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  // Logits past the cap (±60 at cap 5 and 30) so that the capping bends them; vocabularies 11 and 1000.
  for (const [shape, cap] of [[[3, 4, 11], 5], [[2, 3, 1000], 30]] as const) {
    const lead = shape.slice(0, -1), rows = size(lead);
    const g = rng(15);
    const ids = Array.from({ length: rows }, () => Math.floor(g() * shape[2]));
    const m = Array.from({ length: rows }, (_, i) => [1, 0, 0.5, 2][i % 4]);
    const w = randomValues(rows, 16);
    for (const device of gpu ? [cpu, gpu] : [cpu]) {
      const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
      const results: number[][] = [];
      for (const fused of [true, false]) {
        const x = r.tensor(randomValues(size([...shape]), 14, -60, 60), [...shape], { device, dtype, requiresGrad: true });
        const targets = r.tensor(ids, lead, { device, dtype: 'int32' });
        const mask = r.tensor(m, lead, { device, dtype });
        const y = r.tidy(() => {
          const out = fused ? tokenLogprobs(x, targets, mask, { softcap: cap }) : cappedComposition(x, targets, mask, cap);
          r.sum(r.mul(out, r.tensor(w, lead, { device, dtype }))).backward();
          return out;
        });
        results.push([...(await values(y)), ...(await values(x.grad!))]);
        for (const z of [x, targets, mask, y]) z.dispose();
      }
      const what = `${device.kind} [${shape}] cap ${cap}`;
      assertClose(t, results[0], results[1], device.kind === 'cpu' ? { rtol: 1e-12, atol: 1e-14 } : { rtol: 1e-5, atol: 2e-6 }, what);
    }
  }
});

test('tokenLogprobs with softcap: webgpu matches the cpu reference, and a cap far above the logits changes nothing', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const c of CASES.filter((k) => size(k.shape) < 1e5)) {
    const what = `[${c.shape}] mask ${c.mask}`;
    for (const cap of [3, 30]) {
      const want = await run(cpu, c, cap);
      const got = await run(gpu, c, cap);
      assertClose(t, got.out, want.out, { rtol: 1e-5, atol: 2e-5 }, `${what} cap ${cap} out`);
      assertClose(t, got.grad, want.grad, { rtol: 1e-4, atol: 1e-6 }, `${what} cap ${cap} grad`);
    }
  }
  // Logits in [−6, 6] with a cap of 1e6: tanh(x/cap)·cap = x to float32 rounding.
  const c = CASES[2];
  const capped = await run(gpu, c, 1e6), plain = await run(gpu, c);
  assertClose(t, capped.out, plain.out, { rtol: 1e-6, atol: 1e-6 }, 'huge cap out');
  assertClose(t, capped.grad, plain.grad, { rtol: 1e-6, atol: 1e-7 }, 'huge cap grad');
});

test('tokenLogprobs with softcap: logits at ±1e4 and ±Inf cap to ±cap, finite values and gradients, on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  const cap = 30;
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const x = r.tensor([[1e4, -1e4, 0, 5], [Infinity, -Infinity, 0, 30], [-1e4, -1e4, -1e4, -1e4]], undefined, { device, requiresGrad: true });
    const targets = r.tensor([1, 3, 2], [3], { device, dtype: 'int32' });
    const y = r.tidy(() => {
      const out = tokenLogprobs(x, targets, undefined, { softcap: cap });
      r.sum(out).backward();
      return out;
    });
    const c = (rowValues: number[]) => rowValues.map((v) => cap * Math.tanh(v / cap));
    const lse = (cs: number[]) => Math.log(cs.reduce((a, v) => a + Math.exp(v), 0));
    const rows = [c([1e4, -1e4, 0, 5]), c([Infinity, -Infinity, 0, 30]), c([-1e4, -1e4, -1e4, -1e4])];
    const want = rows.map((cs, i) => cs[[1, 3, 2][i]] - lse(cs));
    assertClose(t, await values(y), want, { rtol: 1e-5, atol: 1e-5 }, `${device.kind} out`);
    const grad = await values(x.grad!);
    t.true(grad.every(Number.isFinite), `${device.kind} grad finite: ${grad}`);
    // At ±1e4 and ±Inf the slope 1 − tanh² is 0: no gradient reaches those logits.
    t.deepEqual([grad[0], grad[1], grad[4], grad[5], ...grad.slice(8)].map(Math.abs), Array(8).fill(0), `${device.kind} saturated logits`);
    for (const z of [x, targets, y]) z.dispose();
  }
});

test('tokenLogprobs with softcap: gradcheck (float64 on the cpu), tokenLogprobs and sequenceLogprobs', async (t) => {
  const shape = [2, 3, 5];
  const x = r.tensor(randomValues(30, 3, -8, 8), shape, { device: cpu, dtype: 'float64', requiresGrad: true });
  const ids = r.tensor([0, 4, 2, 1, 3, 3], [2, 3], { device: cpu, dtype: 'int32' });
  const mask = r.tensor([1, 0, 0.5, 2, 1, 0], [2, 3], { device: cpu, dtype: 'float64' });
  for (const [what, f] of [
    ['no mask', (a: Tensor) => tokenLogprobs(a, ids, undefined, { softcap: 4 })],
    ['float mask', (a: Tensor) => tokenLogprobs(a, ids, mask, { softcap: 2.5 })],
    ['sequenceLogprobs', (a: Tensor) => sequenceLogprobs(a, ids, mask, { softcap: 4 })],
  ] as const) {
    const res = await r.gradcheck(f, [x]);
    t.true(res.ok, `${what}: ${JSON.stringify(res)}`);
  }
  const soft = await r.gradcheck((a: Tensor) => r.softcap(a, 4), [x]);
  t.true(soft.ok, `softcap: ${JSON.stringify(soft)}`);
});

test('softcap: cap·tanh(x/cap) on both devices; softcap options are checked', async (t) => {
  const gpu = await gpuOrSkip(t);
  const xs = [-1e4, -60, -3, -1e-3, 0, 1e-6, 0.5, 29, 1e4];
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const got = await values(r.softcap(r.tensor(xs, [xs.length], { device }), 30));
    // float32 on the GPU: relative accuracy near 0 too (tanh's small-argument polynomial).
    assertClose(t, got, xs.map((v) => 30 * Math.tanh(Math.fround(v / 30))), { rtol: 1e-6, atol: 0 }, device.kind);
  }
  const x = r.tensor(randomValues(6, 1), [2, 3], { device: cpu });
  const ids = r.tensor([0, 1], [2], { device: cpu, dtype: 'int32' });
  for (const bad of [-1, NaN, Infinity]) {
    t.throws(() => tokenLogprobs(x, ids, undefined, { softcap: bad }), { message: /tokenLogprobs: softcap must be a finite number ≥ 0/ });
    t.throws(() => sequenceLogprobs(r.reshape(x, [1, 2, 3]), r.reshape(ids, [1, 2]), r.ones([1, 2], { device: cpu }), { softcap: bad }), { message: /sequenceLogprobs: softcap/ });
  }
  for (const bad of [0, -2, NaN]) t.throws(() => r.softcap(x, bad), { message: /softcap: cap must be a finite number > 0/ });
  // 0 means no capping: the plain kernel's values exactly.
  t.deepEqual(await values(tokenLogprobs(x, ids, undefined, { softcap: 0 })), await values(tokenLogprobs(x, ids)));
});

test('sequenceLogprobs sums the token log-probs over positions', async (t) => {
  const x = r.tensor(randomValues(2 * 3 * 4, 8, -2, 2), [2, 3, 4], { device: cpu, dtype: 'float64' });
  const ids = r.tensor([0, 1, 2, 3, 3, 0], [2, 3], { device: cpu, dtype: 'int32' });
  const mask = r.tensor([0, 1, 1, 0, 0, 1], [2, 3], { device: cpu, dtype: 'int32' });
  const tok = await values(tokenLogprobs(x, ids, mask));
  const seq = sequenceLogprobs(x, ids, mask);
  t.deepEqual(seq.shape, [2]);
  assertClose(t, await values(seq), [tok[0] + tok[1] + tok[2], tok[3] + tok[4] + tok[5]], { rtol: 1e-12 });
  t.is(tok[0], 0);
});

/**
 * Records every buffer the device allocates and the peak of live bytes while `fn` runs: the pool's
 * acquire on WebGPU (kernel meta words included), alloc on the CPU device.
 */
async function allocations(device: Device, fn: () => Promise<void>): Promise<{ sizes: number[]; peak: number; before: number }> {
  const sizes: number[] = [];
  const before = device.memory().liveBytes;
  let peak = before;
  const target = device.kind === 'webgpu' ? (device as WebGPUDevice).pool : (device as unknown as { alloc: Device['alloc'] });
  const key = device.kind === 'webgpu' ? 'acquire' : 'alloc';
  const holder = target as unknown as Record<string, (...a: unknown[]) => unknown>;
  const original = holder[key];
  holder[key] = function (this: unknown, ...args: unknown[]) {
    const res = original.apply(this, args);
    const bytes = device.kind === 'webgpu' ? (res as GPUBuffer).size : (res as { length: number }).length * (args[0] === 'float64' ? 8 : 4);
    sizes.push(bytes);
    peak = Math.max(peak, device.memory().liveBytes);
    return res;
  };
  try {
    await fn();
  } finally {
    holder[key] = original;
  }
  return { sizes, peak, before };
}

test.serial('tokenLogprobs: forward + backward allocate nothing logits-sized besides the gradient (B=2, T=16, V=32000), with and without softcap', async (t) => {
  const gpu = await gpuOrSkip(t);
  const [B, T, V] = [2, 16, 32000];
  for (const [device, softcap] of (gpu ? [gpu, cpu] : [cpu]).flatMap((d) => [[d, 0], [d, 30]] as const)) {
    const x = r.tensor(randomValues(B * T * V, 12, -4, 4), [B, T, V], { device, requiresGrad: true });
    const ids = r.tensor(Array.from({ length: B * T }, (_, i) => (i * 7919) % V), [B, T], { device, dtype: 'int32' });
    const mask = r.tensor(Array.from({ length: B * T }, (_, i) => (i % T < 5 ? 0 : 1)), [B, T], { device });
    await device.sync();
    const logitsBytes = B * T * V * 4;
    const { sizes, peak, before } = await allocations(device, async () => {
      r.tidy(() => r.sum(sequenceLogprobs(x, ids, mask, { softcap })).backward());
      await x.grad!.data();
    });
    const big = sizes.filter((s) => s >= logitsBytes / 2);
    const what = `${device.kind} softcap ${softcap}`;
    t.is(big.length, 1, `${what}: one logits-sized allocation (the gradient), got ${big}`);
    t.true(big[0] >= logitsBytes && big[0] <= logitsBytes * 1.125, `${what}: gradient buffer ${big[0]} bytes`);
    // Beyond the gradient: O(B·T) words (the output with its statistics, sums, seeds, meta words).
    const extra = peak - before - big[0];
    t.true(extra <= 64 * B * T * 4 + 16384, `${what}: ${extra} bytes live besides the gradient at the peak`);
    t.log(`${what}: peak live bytes over the logits ${peak - before} (gradient ${big[0]}, other ${extra}); ${sizes.length} allocations`);
    for (const z of [x, ids, mask]) z.dispose();
  }
});

test('tokenLogprobs: checks shapes, dtypes and target ids', async (t) => {
  const x = r.tensor(randomValues(12, 1), [2, 2, 3], { device: cpu });
  const ids = (v: number[], shape = [2, 2]) => r.tensor(v, shape, { device: cpu, dtype: 'int32' });
  t.throws(() => tokenLogprobs(x, r.tensor([0, 1, 2, 0], [2, 2], { device: cpu })), { message: /targets must be int32/ });
  t.throws(() => tokenLogprobs(x, ids([0, 1], [2])), { message: /targets of shape \[2\] must have the logits' leading shape \[2,2\]/ });
  t.throws(() => tokenLogprobs(x, ids([0, 1, 2, 0]), r.ones([2], { device: cpu })), { message: /mask of shape \[2\]/ });
  t.throws(() => tokenLogprobs(r.tensor([1], [1], { device: cpu, dtype: 'int32' }), ids([0], [])), { message: /logits must be a float tensor/ });
  t.throws(() => tokenLogprobs(x, ids([0, 3, 1, 2])), { message: /target id 3 at row 1 is out of range for a vocabulary of 3/ });
  t.throws(() => sequenceLogprobs(r.tensor([1, 2], [2], { device: cpu }), ids([0], []), r.ones([], { device: cpu })), { message: /must be \[\.\.\., T, V\]/ });
  // Out-of-range ids at masked positions are fine (padding with −100).
  const y = tokenLogprobs(x, ids([0, -100, 1, 7]), r.tensor([1, 0, 1, 0], [2, 2], { device: cpu, dtype: 'int32' }));
  const v = await values(y);
  t.is(v[1], 0);
  t.is(v[3], 0);
  // Empty batches pass through.
  const e = tokenLogprobs(r.zeros([0, 4, 5], { device: cpu }), r.zeros([0, 4], { device: cpu, dtype: 'int32' }));
  t.deepEqual(e.shape, [0, 4]);
});

test('tokenLogprobs: an out-of-range unmasked target gives NaN on webgpu', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const x = r.tensor(randomValues(6, 2), [2, 3], { device: gpu });
  const got = await values(tokenLogprobs(x, r.tensor([3, 1], [2], { device: gpu, dtype: 'int32' })));
  t.true(Number.isNaN(got[0]));
  t.true(Number.isFinite(got[1]));
  const e = tokenLogprobs(r.zeros([0, 5], { device: gpu }), r.zeros([0], { device: gpu, dtype: 'int32' }));
  t.deepEqual(await values(e), []);
});

test('cost: FLOPs and compulsory bytes', (t) => {
  t.deepEqual(tokenLogprobsCost([2, 3, 10]), { flops: 4 * 60 + 24, bytes: 240 + 24 + 24 + 72 });
  t.deepEqual(tokenLogprobsCost([6, 10], 'float32', false), { flops: 264, bytes: 240 + 24 + 72 });
  t.deepEqual(tokenLogprobsGradCost([6, 10]), { flops: 306, bytes: 480 + 24 + 24 + 72 });
  t.deepEqual(tokenLogprobsCost([6, 10], 'float32', true, true), { flops: 7 * 60 + 24, bytes: 240 + 24 + 24 + 72 });
  t.deepEqual(tokenLogprobsGradCost([6, 10], 'float32', true, true), { flops: 13 * 60 + 6, bytes: 480 + 24 + 24 + 72 });
});

test.after.always(async () => {
  await r.shutdown();
});
