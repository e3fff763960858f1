// alignedTokenLogprobs (WPO's per-token term): the WGSL kernel against the float64 CPU reference,
// and both against a composition of existing ops, log p(t) − log Σ_v exp(2·logSoftmax(x)_v), on
// each device; soft-capping, masks, a vocabulary of 32003, NaN rows, no gradient.
import test from 'ava';
import * as r from '../../src/index.js';
import type { Device, Tensor } from '../../src/index.js';
import { alignedTokenLogprobs } from '../../src/kernels/aligned-logprobs/index.js';
import { assertClose, cpu, gpuOrSkip, randomValues, rng, values } from '../helpers/devices.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

interface Case { shape: number[]; seed: number; mask: 'none' | 'float' | 'int'; softcap?: number }

const CASES: Case[] = [
  { shape: [1, 1, 1], seed: 1, mask: 'none' },
  { shape: [2, 3, 7], seed: 3, mask: 'float' },
  { shape: [5, 7], seed: 4, mask: 'int' },
  { shape: [3, 5, 1000], seed: 5, mask: 'float' },
  { shape: [1, 3, 32003], seed: 7, mask: 'int' },
  { shape: [37, 33], seed: 9, mask: 'int' },
  { shape: [2, 3, 300], seed: 11, mask: 'float', softcap: 2.5 },
];

function inputs(device: Device, { shape, seed, mask }: Case) {
  const V = shape[shape.length - 1], lead = shape.slice(0, -1), rows = size(lead);
  const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
  const g = rng(seed * 7 + 1);
  const m = Array.from({ length: rows }, (_, i) => (mask === 'none' ? 1 : i % 3 === 1 ? 0 : mask === 'float' ? [1, 0.5, 2][i % 3] : 1));
  const ids = Array.from({ length: rows }, (_, i) => (m[i] === 0 ? -100 : Math.floor(g() * V)));
  return {
    x: r.tensor(randomValues(size(shape), seed, -6, 6), shape, { device, dtype, requiresGrad: true }),
    targets: r.tensor(ids, lead, { device, dtype: 'int32' }),
    mask: mask === 'none' ? undefined : r.tensor(m, lead, { device, dtype: mask === 'int' ? 'int32' : dtype }),
    safeTargets: r.tensor(ids.map((i) => Math.max(i, 0)), lead, { device, dtype: 'int32' }),
    m,
  };
}

/** The same with existing ops: (logSoftmax(c)[t] − log Σ exp(2·logSoftmax(c))) · mask, c the (capped) logits. */
function composed(x: Tensor, targets: Tensor, mask: Tensor | undefined, softcap?: number): Tensor {
  const lsm = r.logSoftmax(softcap ? r.softcap(x, softcap) : x);
  const picked = r.squeeze(r.gather(lsm, -1, r.unsqueeze(targets, -1)), -1);
  const y = r.sub(picked, r.log(r.sum(r.exp(r.mul(lsm, 2)), -1)));
  return mask ? r.mul(y, r.cast(mask, x.dtype)) : y;
}

async function run(device: Device, c: Case) {
  const { x, targets, mask, safeTargets } = inputs(device, c);
  const got = alignedTokenLogprobs(x, targets, mask, { softcap: c.softcap });
  const want = r.noGrad(() => composed(x, safeTargets, mask, c.softcap));
  const res = { requiresGrad: got.requiresGrad, got: await values(got), want: await values(want) };
  for (const t of [x, targets, mask, safeTargets, got, want]) t?.dispose();
  return res;
}

test('alignedTokenLogprobs: the cpu reference equals the composition of ops (float64), and carries no gradient', async (t) => {
  for (const c of CASES) {
    const res = await run(cpu, c);
    t.false(res.requiresGrad, `[${c.shape}]: no gradient`);
    assertClose(t, res.got, res.want, { rtol: 1e-12, atol: 1e-12 }, `[${c.shape}] mask ${c.mask} softcap ${c.softcap ?? 0}`);
  }
});

test('alignedTokenLogprobs: webgpu equals the cpu reference and the composition of ops on its own device', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const c of CASES) {
    const what = `[${c.shape}] mask ${c.mask} softcap ${c.softcap ?? 0}`;
    const ref = await run(cpu, c), res = await run(gpu, c);
    assertClose(t, res.got, ref.got, { rtol: 1e-5, atol: 3e-5 }, `${what}: vs cpu`);
    assertClose(t, res.got, res.want, { rtol: 1e-5, atol: 3e-5 }, `${what}: vs ops`);
    inputs(cpu, c).m.forEach((mi, i) => mi === 0 && t.is(res.got[i], 0, `${what}: masked row ${i}`));
  }
});

test('alignedTokenLogprobs: rows without a finite log-sum-exp give NaN; a bad target is an error naming it on the cpu', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
    const x = r.tensor([NaN, 0, 1, 0, 1, 2, -Infinity, -Infinity, -Infinity], [3, 3], { device, dtype });
    const y = await values(alignedTokenLogprobs(x, r.tensor([0, 1, 2], [3], { device, dtype: 'int32' })));
    t.true(Number.isNaN(y[0]) && Number.isFinite(y[1]) && Number.isNaN(y[2]), `${device.kind}: ${y}`);
  }
  const x = r.tensor([0, 1], [1, 2], { device: cpu, dtype: 'float64' });
  t.throws(() => alignedTokenLogprobs(x, r.tensor([2], [1], { device: cpu, dtype: 'int32' })), { message: /alignedTokenLogprobs: target id 2 at row 0 is out of range/ });
});

test.after.always(async () => {
  await r.shutdown();
});
