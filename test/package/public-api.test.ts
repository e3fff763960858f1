// The public entry's surface where the layering moved things: matmul's default and controls are
// public, its ladder's internals are not; the optimizers, RoPE's config handling and the helpers
// that moved between folders are still exported under their names.
import test from 'ava';
import * as r from '../../src/index.js';
import { MATMUL_SKINNY } from '../../src/kernels/matmul/webgpu.js';

test('matmul: the default (chooseMatmulVersion) and the controls are public, the ladder is not', (t) => {
  for (const name of ['matmul', 'matmulLayout', 'chooseMatmulVersion', 'setSkinnyColumns', 'matmulCost', 'planMatmul']) t.is(typeof (r as Record<string, unknown>)[name], 'function', name);
  const internal = Object.keys(r).filter((k) => /^MATMUL_|^matmulVersion|^matmulKernel|^launchMatmul|^dispatchMatmul/.test(k));
  t.deepEqual(internal, []);
  // What the default picks is still readable: a decoding step's X·Wᵀ takes the skinny rung.
  t.is(r.chooseMatmulVersion(r.matmulLayout([1, 4096], [14336, 4096], false, true), false, true), MATMUL_SKINNY);
});

test('what moved between folders is still exported under its name', (t) => {
  const moved = ['AdamW', 'RMSprop', 'clipGradNormScale', 'totalGradNorm', 'adamwUpdate', 'rmspropUpdate', 'ropeFrequencies', 'ropeInvFreqTensor', 'applyRope', 'matmulNf4Weight', 'quantizeNf4', 'sumToShape', 'bfloat16Bits', 'bfloat16Value', 'getLoss', 'listLosses', 'registerLoss', 'unregisterLoss'];
  t.deepEqual(moved.filter((name) => typeof (r as Record<string, unknown>)[name] !== 'function'), []);
});
