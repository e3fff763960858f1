// The public entry's surface where the layering moved things: matmul's default and controls are
// public, its ladder's internals are not; the optimizers, RoPE's config handling and the helpers
// that moved between folders are still exported under their names.
import test from 'ava';
import * as r from '../../src/index.js';
import { MATMUL_SKINNY } from '../../src/kernels/matmul/webgpu.js';
import { gpuOrSkip, values } from '../helpers/devices.js';

test('matmul: the default (chooseMatmulVersion) and the controls are public, the ladder is not', (t) => {
  for (const name of ['matmul', 'matmulLayout', 'chooseMatmulVersion', 'setMatmulVersion', 'listMatmulVersions', 'setSkinnyColumns', 'matmulCost', 'planMatmul']) t.is(typeof (r as Record<string, unknown>)[name], 'function', name);
  const internal = Object.keys(r).filter((k) => /^MATMUL_|^matmulVersion|^matmulKernel|^launchMatmul|^dispatchMatmul/.test(k));
  t.deepEqual(internal, []);
  // What the default picks is still readable: a decoding step's X·Wᵀ takes the skinny rung.
  t.is(r.chooseMatmulVersion(r.matmulLayout([1, 4096], [14336, 4096], false, true), false, true), MATMUL_SKINNY);
});

test('what moved between folders is still exported under its name', (t) => {
  const moved = ['AdamW', 'RMSprop', 'clipGradNormScale', 'totalGradNorm', 'adamwUpdate', 'rmspropUpdate', 'ropeFrequencies', 'ropeInvFreqTensor', 'applyRope', 'matmulNf4Weight', 'quantizeNf4', 'sumToShape', 'bfloat16Bits', 'bfloat16Value', 'getLoss', 'listLosses', 'registerLoss', 'unregisterLoss'];
  t.deepEqual(moved.filter((name) => typeof (r as Record<string, unknown>)[name] !== 'function'), []);
});

test.serial('setMatmulVersion forces a rung on every product that names none, and restores the default', async (t) => {
  t.true(r.listMatmulVersions().length > MATMUL_SKINNY);
  t.throws(() => r.setMatmulVersion(999), { message: /no kernel version 999/ });
  t.throws(() => r.setMatmulVersion(MATMUL_SKINNY), { message: /chosen per shape/ });
  const gpu = await gpuOrSkip(t);
  if (!gpu || !gpu.canProfile) return;
  const a = r.tensor(Float32Array.from({ length: 64 * 48 }, (_, i) => Math.sin(i)), [64, 48], { device: gpu });
  const b = r.tensor(Float32Array.from({ length: 48 * 40 }, (_, i) => Math.cos(i)), [48, 40], { device: gpu });
  const kernelOf = async () => (await gpu.profile(() => r.matmul(a, b))).kernels.map((k) => k.name).join();
  const byDefault = await kernelOf();
  try {
    r.setMatmulVersion(1);
    const forced = await kernelOf();
    t.not(forced, byDefault);
    t.deepEqual(await values(r.matmul(a, b)), await values(r.matmul(a, b, { version: 1 })), 'the forced rung computes what naming it does');
  } finally {
    r.setMatmulVersion(undefined);
  }
  t.is(await kernelOf(), byDefault);
});
