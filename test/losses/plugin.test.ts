// The worked plugin of docs/writing-a-loss.md (DPO-Positive), registered like any user's plugin
// and trained one SGD step on a toy model whose log-probs are linear in three parameters.
import test from 'ava';
import { readFileSync } from 'node:fs';
import * as r from '../../src/index.js';
import { assertClose, gpuOrSkip, randomValues } from '../helpers/devices.js';
import { buildBatch, evaluate, golden, repoRoot } from './helpers.js';
import { dpop } from './plugin/dpop.js';

test.serial('docs/writing-a-loss.md shows the plugin exactly as this test runs it', (t) => {
  const source = readFileSync(`${repoRoot}test/losses/plugin/dpop.ts`, 'utf8').replace("from '../../../src/index.js'", "from 'relpo'");
  const doc = readFileSync(`${repoRoot}docs/writing-a-loss.md`, 'utf8');
  const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  t.true(blocks.includes(source), 'the full plugin listing in docs/writing-a-loss.md differs from test/losses/plugin/dpop.ts');
});

test.serial('the plugin registers, resolves its config and refuses what it cannot use', (t) => {
  const loss = r.registerLoss(dpop);
  t.is(r.getLoss('dpop'), loss);
  t.true(r.listLosses().some((l) => l.name === 'dpop'));
  t.deepEqual(loss.resolveConfig({ lambda: 5 }), { beta: 0.1, lambda: 5 });
  t.throws(() => loss.resolveConfig({ lamda: 5 } as never), { message: /unknown config key 'lamda'.*known keys: beta, lambda/ });
  t.throws(() => loss.resolveConfig({ lambda: -1 }), { message: /'lambda' must be ≥ 0/ });
  t.throws(() => r.registerLoss(dpop), { message: /'dpop' is already registered/ });
});

/** Toy policy: πc = ρc + Xc·w, πr = ρr + Xr·w for fixed features X and parameters w. */
function toyBatch(device: r.Device, dtype: r.DType, w: r.Tensor) {
  const M = 5, k = 3;
  const opts = { device, dtype };
  const refC = r.tensor(randomValues(M, 1, -30, -10), [M], opts), refR = r.tensor(randomValues(M, 2, -30, -10), [M], opts);
  const xc = r.tensor(randomValues(M * k, 3), [M, k], opts), xr = r.tensor(randomValues(M * k, 4), [M, k], opts);
  return {
    paired: true,
    chosen: { policyLogps: r.add(refC, r.matmul(xc, w)), refLogps: refC },
    rejected: { policyLogps: r.add(refR, r.matmul(xr, w)), refLogps: refR },
  };
}

test.serial('one SGD step with the plugin lowers its loss, on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!r.listLosses().some((l) => l.name === 'dpop')) r.registerLoss(dpop);
  const loss = r.getLoss<{ beta: number; lambda: number }>('dpop');
  const config = { beta: 0.5, lambda: 2 };
  for (const [device, dtype] of [[r.cpuDevice(), 'float64'], ...(gpu ? [[gpu, 'float32']] : [])] as [r.Device, r.DType][]) {
    const w = r.tensor([0.4, -0.8, 0.3], [3], { device, dtype, requiresGrad: true });
    const before = r.tidy(() => {
      const out = loss.compute(toyBatch(device, dtype, w), config);
      out.loss.backward();
      return out;
    });
    t.truthy(w.grad, `${device.kind}: w has a gradient`);
    // The penalty is active on some rows at this w, so the step uses both of the plugin's terms.
    t.true((await before.metrics['dpop/penalty'].item()) > 0, `${device.kind}: penalty active`);
    const lr = 0.5;
    const w2 = r.noGrad(() => r.sub(w, r.mul(w.grad!, lr)));
    const after = r.tidy(() => loss.compute(toyBatch(device, dtype, w2), config).loss);
    const l0 = await before.loss.item(), l1 = await after.item();
    t.true(l1 < l0, `${device.kind}: loss ${l0} → ${l1}`);
    // First order: the decrease is about lr·|∇|².
    const g = Array.from(await w.grad!.data());
    const predicted = lr * g.reduce((s, x) => s + x * x, 0);
    t.true(l0 - l1 > 0.5 * predicted && l0 - l1 < 1.5 * predicted, `${device.kind}: decrease ${l0 - l1} vs first-order ${predicted}`);
  }
});

test.serial('the plugin\'s gradient passes gradcheck through the toy model', async (t) => {
  if (!r.listLosses().some((l) => l.name === 'dpop')) r.registerLoss(dpop);
  const w = r.tensor([0.4, -0.8, 0.3], [3], { device: r.cpuDevice(), dtype: 'float64', requiresGrad: true });
  const res = await r.gradcheck((p) => r.getLoss('dpop').compute(toyBatch(r.cpuDevice(), 'float64', p), { beta: 0.5, lambda: 2 }).loss, [w]);
  t.true(res.ok, JSON.stringify(res));
  assertClose(t, [res.maxAbsError], [0], { atol: 1e-6 });
});

test.serial("a plugin built from the exported DPO-option pieces takes TRL's f-divergence, WPO and LD-DPO keys", async (t) => {
  type C = { beta: number } & r.DpoOptions;
  // The squared hinge on the f-divergence margin: relu(1 − β·(f′(sc) − f′(sr)))², WPO-weighted.
  const loss = r.registerLoss<C>({
    name: 'hinge_sq',
    data: { paired: true, unpaired: false },
    needs: r.withWpoWeights({ reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: false, meanOverPairs: true }),
    needsFor: (c) => r.dpoOptionNeeds({ reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: false, meanOverPairs: true }, c),
    defaults: { beta: 0.1, ...r.DPO_OPTION_DEFAULTS },
    configHelp: { beta: 'β', ...r.DPO_OPTION_HELP },
    choices: r.DPO_OPTION_CHOICES,
    validate: (c) => r.validateDpoOptions('hinge_sq', c),
    compute(batch, c) {
      const f = r.divergenceScores(r.logRatios('hinge_sq', batch), c);
      const margin = r.relu(r.sub(1, r.mul(r.sub(f.chosen, f.rejected), c.beta)));
      return { loss: r.pairMean('hinge_sq', batch, r.mul(margin, margin), c), metrics: {} };
    },
  });
  t.like(r.lossNeeds(loss.plugin, loss.resolveConfig({})), { wpoWeights: undefined, verboseWeight: undefined });
  t.like(r.lossNeeds(loss.plugin, loss.resolveConfig({ useWeighting: true, ldAlpha: 0.5 })), { wpoWeights: true, verboseWeight: 0.5 });
  t.throws(() => loss.resolveConfig({ ldAlpha: 2 }), { message: /'ldAlpha' must be in \[0, 1\]/ });
  t.throws(() => loss.resolveConfig({ fDivergenceType: 'kl' } as never), { message: /'fDivergenceType' must be one of 'reverse_kl'/ });
  // Against the formula on the host, with made-up WPO weights.
  const P = golden.batches.P, cpu = r.cpuDevice();
  const wc = [0.9, 0.5, 0.7, 0.2], wr = [0.3, 0.8, 0.6, 0.4];
  const built = buildBatch(P, cpu, 'float64');
  built.batch.chosen.wpoWeights = r.tensor(wc, [4], { device: cpu, dtype: 'float64' });
  built.batch.rejected.wpoWeights = r.tensor(wr, [4], { device: cpu, dtype: 'float64' });
  const got = await evaluate(loss, built, { beta: 0.5, fDivergenceType: 'js_divergence', useWeighting: true });
  const js = (x: number) => -Math.log1p(Math.exp(-x));
  const want = P.chosen.policyLogps.reduce((acc, pc, i) => {
    const m = Math.max(0, 1 - 0.5 * (js(pc - P.chosen.refLogps[i]) - js(P.rejected.policyLogps[i] - P.rejected.refLogps[i])));
    return acc + (m * m * wc[i] * wr[i]) / 4;
  }, 0);
  assertClose(t, [got.value], [want], { rtol: 1e-12, atol: 0 });
  r.unregisterLoss('hinge_sq');
});

test.after.always(async () => {
  await r.shutdown();
});
