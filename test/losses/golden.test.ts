// Every loss and option against PyTorch (golden/make_golden.py, float64 autograd): the value, the
// gradients with respect to the chosen and rejected policy log-probs, and the metrics, on the cpu
// device in float64 and on WebGPU in float32.
import test from 'ava';
import * as r from '../../src/index.js';
import { assertClose, gpuOrSkip } from '../helpers/devices.js';
import { buildBatch, devices, evaluate, golden } from './helpers.js';

test('the golden file covers every built-in loss, with M ≠ N and M = 1 batches', (t) => {
  const names = new Set(golden.cases.map((c) => c.loss));
  for (const l of r.builtinLosses) t.true(names.has(l.name), `no golden case for ${l.name}`);
  for (const l of r.builtinLosses) {
    const cases = golden.cases.filter((c) => c.loss === l.name);
    t.true(cases.some((c) => golden.batches[c.batch].chosen.policyLogps.length === 1), `${l.name}: no M = 1 case`);
    if (l.data.unpaired && l.name !== 'aot_unpaired') {
      t.true(cases.some((c) => { const b = golden.batches[c.batch]; return b.chosen.policyLogps.length !== b.rejected.policyLogps.length; }), `${l.name}: no M ≠ N case`);
    }
  }
});

test('the golden defaults are the losses\' defaults', (t) => {
  for (const l of r.builtinLosses) t.deepEqual({ ...l.defaults }, golden.defaults[l.name], l.name);
});

for (const c of golden.cases) {
  test(`golden: ${c.id}`, async (t) => {
    const gpu = await gpuOrSkip(t);
    for (const { device, dtype, tol } of await devices(gpu)) {
      const built = buildBatch(golden.batches[c.batch], device, dtype);
      // A weighted sum (TRL's rpo_alpha: a loss plus α × sft) is a mixLosses of its terms.
      const loss = c.terms ? (r.mixLosses(c.terms) as unknown as r.RegisteredLoss) : c.loss;
      const got = await evaluate(loss, built, c.config);
      const where = `${c.id} on ${device.kind}`;
      assertClose(t, [got.value], [c.value], tol, `${where}: loss`);
      assertClose(t, got.gradChosen, c.grad.chosen, tol, `${where}: d/dπc`);
      assertClose(t, got.gradRejected, c.grad.rejected, tol, `${where}: d/dπr`);
      t.deepEqual(Object.keys(got.metrics).sort(), Object.keys(c.metrics).sort(), `${where}: metric names`);
      for (const [k, v] of Object.entries(c.metrics)) assertClose(t, [got.metrics[k]], [v], tol, `${where}: ${k}`);
    }
  });
}

test.after.always(async () => {
  await r.shutdown();
});
