import test from 'ava';
import { readFileSync } from 'node:fs';
import * as r from '../../src/index.js';
import type { Device, Tensor } from '../../src/index.js';
import { adamwUpdate } from '../../src/kernels/optim/index.js';
import { AdamW, RMSprop, clipGradNormScale, totalGradNorm, type AdamWOptions, type RMSpropOptions } from '../../src/optim/index.js';
import { type LrSchedule, lrFactor } from '../../src/train/schedule.js';
import { adamwCost, rmspropCost } from '../../src/kernels/optim/contract.js';
import { assertClose, cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

interface Golden {
  torch: string;
  shapes: Record<string, number[]>;
  initial: Record<string, number[]>;
  grads: Record<string, number[] | null>[];
  cases: {
    name: string;
    optimizer: 'AdamW' | 'RMSprop';
    options: AdamWOptions & RMSpropOptions;
    params: Record<string, number[]>[];
    state: Record<string, Record<string, number | number[]>>;
  }[];
  clipCases: {
    name: string;
    optimizer: 'AdamW' | 'RMSprop';
    options: AdamWOptions & RMSpropOptions;
    maxNorm: number;
    schedule: LrSchedule;
    params: Record<string, number[]>[];
    lrs: number[];
    norms: number[];
  }[];
}

// Tests run from dist/test/kernels; the JSON stays in the source tree.
const golden: Golden = JSON.parse(readFileSync(new URL('../../../test/kernels/golden/optim.json', import.meta.url), 'utf8'));

/** torch's state names → ours. */
const STATE_NAMES: Record<string, string> = {
  step: 'step', exp_avg: 'expAvg', exp_avg_sq: 'expAvgSq', square_avg: 'squareAvg', grad_avg: 'gradAvg', momentum_buffer: 'momentumBuffer',
};

function makeOptimizer(kind: 'AdamW' | 'RMSprop', params: Tensor[], options: AdamWOptions & RMSpropOptions) {
  return kind === 'AdamW' ? new AdamW(params, options) : new RMSprop(params, options);
}

function setGrad(p: Tensor, g: number[] | null): void {
  p.zeroGrad();
  if (g) p.grad = r.keep(r.tensor(g, p.shape, { device: p.device, dtype: p.dtype }));
}

/** The golden's initial parameters on a device (float64 on the CPU), with the tolerance for it. */
function goldenParams(device: Device) {
  const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
  const tol = device.kind === 'cpu' ? { rtol: 1e-12, atol: 1e-14 } : { rtol: 2e-6, atol: 2e-6 };
  const names = Object.keys(golden.shapes);
  const params = names.map((k) => r.tensor(golden.initial[k], golden.shapes[k], { device, dtype, requiresGrad: true, name: k }));
  return { tol, names, params };
}

for (const c of golden.cases) {
  test(`${c.name}: 5 steps match torch.optim.${c.optimizer} (torch ${golden.torch}) on both devices`, async (t) => {
    const gpu = await gpuOrSkip(t);
    for (const device of gpu ? [cpu, gpu] : [cpu]) {
      const { tol, names, params } = goldenParams(device);
      const opt = makeOptimizer(c.optimizer, params, c.options);
      for (const [s, grads] of golden.grads.entries()) {
        params.forEach((p, i) => setGrad(p, grads[names[i]]));
        opt.step();
        for (const [i, p] of params.entries()) {
          assertClose(t, await values(p), c.params[s][names[i]], tol, `${device.kind} step ${s + 1} ${names[i]}`);
        }
      }
      for (const [i, p] of params.entries()) {
        const state = opt.stateOf(p) as unknown as Record<string, Tensor | number>;
        const want = c.state[names[i]];
        t.deepEqual(Object.keys(state).sort(), Object.keys(want).map((k) => STATE_NAMES[k]).sort(), `${device.kind} ${names[i]} state names`);
        for (const [k, v] of Object.entries(want)) {
          const got = state[STATE_NAMES[k]];
          if (typeof v === 'number') t.is(got, v, `${device.kind} ${names[i]} ${k}`);
          else assertClose(t, await values(got as Tensor), v, tol, `${device.kind} ${names[i]} ${k}`);
        }
      }
      opt.dispose();
      for (const p of params) p.dispose();
    }
  });
}

for (const c of golden.clipCases) {
  test(`${c.name}: 5 steps match torch's clip_grad_norm_ + ${c.optimizer} + the transformers schedule on both devices`, async (t) => {
    const gpu = await gpuOrSkip(t);
    for (const device of gpu ? [cpu, gpu] : [cpu]) {
      const { tol, names, params } = goldenParams(device);
      const opt = makeOptimizer(c.optimizer, params, c.options);
      const base = c.options.lr!;
      for (const [s, grads] of golden.grads.entries()) {
        params.forEach((p, i) => setGrad(p, grads[names[i]]));
        const norm = totalGradNorm(params)!;
        const n = await norm.item();
        norm.dispose();
        assertClose(t, [n], [c.norms[s]], tol, `${device.kind} step ${s + 1} total norm`);
        opt.lr = base * lrFactor(c.schedule, s);
        t.true(Math.abs(opt.lr - c.lrs[s]) <= 1e-15 * Math.max(1, c.lrs[s]), `step ${s + 1} lr ${opt.lr} vs ${c.lrs[s]}`);
        opt.step(clipGradNormScale(n, c.maxNorm));
        for (const [i, p] of params.entries()) {
          assertClose(t, await values(p), c.params[s][names[i]], tol, `${device.kind} step ${s + 1} ${names[i]}`);
        }
      }
      opt.dispose();
      for (const p of params) p.dispose();
    }
  });
}

test('totalGradNorm is null without gradients; clipGradNormScale refuses a bad maxNorm and never scales up', (t) => {
  const p = r.tensor([1, 2], [2], { device: cpu, requiresGrad: true });
  t.is(totalGradNorm([p]), null);
  t.is(clipGradNormScale(0.1, 1), 1);
  t.is(clipGradNormScale(4, 2), 2 / (4 + 1e-6));
  for (const bad of [0, -1, NaN]) t.throws(() => clipGradNormScale(1, bad), { message: /maxNorm must be > 0/ });
  const opt = new AdamW([p]);
  t.throws(() => opt.step(NaN), { message: /gradScale must be a finite number ≥ 0/ });
  p.dispose();
});

/** Parameters of awkward sizes (1, primes, past a workgroup) updated for 6 steps on one device. */
async function trajectory(device: Device, kind: 'AdamW' | 'RMSprop', options: AdamWOptions & RMSpropOptions): Promise<number[][]> {
  const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
  const shapes = [[1], [7], [3, 257], [1000]];
  const params = shapes.map((s, i) => r.tensor(randomValues(s.reduce((a, b) => a * b, 1), 40 + i, -2, 2), s, { device, dtype, requiresGrad: true }));
  const opt = makeOptimizer(kind, params, options);
  for (let step = 0; step < 6; step++) {
    params.forEach((p, i) => setGrad(p, randomValues(p.size, 100 * step + i, -3, 3)));
    if (step === 2) opt.lr *= 0.5; // a schedule changes lr between steps
    opt.step();
  }
  const out = await Promise.all(params.map((p) => values(p)));
  opt.dispose();
  for (const p of params) p.dispose();
  return out;
}

const TRAJECTORIES: ['AdamW' | 'RMSprop', AdamWOptions & RMSpropOptions][] = [
  ['AdamW', { lr: 0.01, weightDecay: 0.1 }],
  ['RMSprop', {}],
  ['RMSprop', { momentum: 0.9, weightDecay: 0.01 }],
  ['RMSprop', { centered: true, momentum: 0.5, lr: 0.003 }],
];

for (const [kind, options] of TRAJECTORIES) {
  test(`${kind} ${JSON.stringify(options)}: webgpu matches the cpu reference over 6 steps`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return;
    const want = await trajectory(cpu, kind, options);
    const got = await trajectory(gpu, kind, options);
    got.forEach((g, i) => assertClose(t, g, want[i], { rtol: 1e-5, atol: 1e-6 }, `param ${i}`));
  });
}

test.serial('step updates in place and allocates nothing after the first step; dispose frees the state', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    for (const kind of ['AdamW', 'RMSprop'] as const) {
      const p = r.tensor(randomValues(300, 1), [300], { device, requiresGrad: true });
      const storage = p.storage;
      const opt = makeOptimizer(kind, [p], { momentum: 0.9, centered: true });
      setGrad(p, randomValues(300, 2));
      const before = device.memory().liveBytes;
      r.tidy(() => opt.step()); // state made inside a tidy survives it
      const withState = device.memory().liveBytes;
      // 300 floats: 1200 bytes, a 2048-byte size class in the WebGPU buffer pool.
      const perState = device.kind === 'webgpu' ? 2048 : 1200;
      t.is(withState - before, (kind === 'AdamW' ? 2 : 3) * perState, `${device.kind} ${kind} state bytes`);
      for (let k = 0; k < 3; k++) opt.step();
      await device.sync();
      t.is(device.memory().liveBytes, withState, `${device.kind} ${kind}: steps allocate nothing`);
      t.is(p.storage, storage);
      t.is(opt.stateOf(p)!.step, 4);
      opt.dispose();
      t.is(device.memory().liveBytes, before, `${device.kind} ${kind}: dispose frees the state`);
      p.dispose();
    }
  }
});

test('parameters without a gradient are skipped; zeroGrad drops gradients', async (t) => {
  const a = r.tensor([1, 2], [2], { device: cpu, requiresGrad: true });
  const b = r.tensor([3], [1], { device: cpu, requiresGrad: true });
  const opt = new AdamW([a, b], { lr: 0.1 });
  setGrad(a, [1, -1]);
  opt.step();
  t.is(opt.stateOf(b), undefined);
  t.deepEqual(await values(b), [3]);
  // First AdamW step moves each element by lr·sign(g) (after the decay).
  assertClose(t, await values(a), [1 * (1 - 0.1 * 0.01) - 0.1, 2 * (1 - 0.1 * 0.01) + 0.1], { rtol: 1e-6 });
  opt.zeroGrad();
  t.is(a.grad, null);
  opt.step();
  t.is(opt.stateOf(a)!.step, 1);
  opt.dispose();
});

test('errors: bad options, dtypes, shapes, and a gradient sharing the parameter’s memory', (t) => {
  const p = r.tensor([1, 2, 3], [3], { device: cpu, requiresGrad: true });
  t.throws(() => new AdamW([]), { message: /empty parameter list/ });
  t.throws(() => new AdamW([p, p]), { message: /appears twice/ });
  t.throws(() => new AdamW([r.tensor([1], [1], { device: cpu, dtype: 'int32' })]), { message: /only float tensors/ });
  t.throws(() => new AdamW([p], { lr: -1 }), { message: /invalid lr -1/ });
  t.throws(() => new AdamW([p], { betas: [0.9, 1] }), { message: /invalid beta2 1/ });
  t.throws(() => new RMSprop([p], { momentum: -0.1 }), { message: /invalid momentum/ });
  const opt = new AdamW([p]);
  p.grad = r.keep(r.tensor([1, 2], [2], { device: cpu }));
  t.throws(() => opt.step(), { message: /adamw: grad is float32 \[2\] but the parameter is float32 \[3\]/ });
  p.grad.dispose();
  p.grad = r.keep(p.reshape([3]));
  t.throws(() => opt.step(), { message: /the gradient shares memory with param/ });
  p.grad = null;
  const m = r.zeros([3], { device: cpu }), v = r.zeros([3], { device: cpu, dtype: 'float64' });
  t.throws(() => adamwUpdate(p, r.ones([3], { device: cpu }), m, v, { lr: 1, beta1: 0.9, beta2: 0.9, eps: 0, weightDecay: 0, step: 1 }), { message: /exp_avg_sq is float64 \[3\] but the parameter is float32 \[3\]/ });
  opt.dispose();
});

test('cost: FLOPs and compulsory bytes', (t) => {
  t.deepEqual(adamwCost(10), { flops: 140, bytes: 280 });
  t.deepEqual(rmspropCost(10), { flops: 90, bytes: 200 });
  t.deepEqual(rmspropCost(10, 'float32', { centered: true, momentum: 0.9, weightDecay: 0.1 }), { flops: 180, bytes: 360 });
});

test.after.always(async () => {
  await r.shutdown();
});
