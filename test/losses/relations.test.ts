// Where RPO meets DPO (and SimPO): identities that hold whatever the inputs, checked on both devices.
import test from 'ava';
import * as r from '../../src/index.js';
import { assertClose, gpuOrSkip, randomValues } from '../helpers/devices.js';
import { type BatchJson, buildBatch, devices, evaluate, golden } from './helpers.js';

/** A random paired (or unpaired) batch of M × N rows, embeddings of width d. */
function randomBatch(M: number, N: number, paired: boolean, seed: number, d = 5): BatchJson {
  const side = (rows: number, s: number) => {
    const policy = randomValues(rows, s, -30, -5);
    const ref = policy.map((p, i) => p + randomValues(rows, s + 1, -2, 2)[i]);
    const counts = policy.map((p) => Math.max(3, Math.round(-p)));
    const emb = Array.from({ length: rows }, (_, i) => randomValues(d, s + 10 + i));
    return { policyLogps: policy, refLogps: ref, tokenCounts: counts, promptEmbeddings: emb, promptIds: Array.from({ length: rows }, (_, i) => i) };
  };
  const kl = { policyLogps: randomValues(3, seed + 99, -20, -10), refLogps: randomValues(3, seed + 98, -20, -10) };
  return { paired, chosen: side(M, seed), rejected: side(N, seed + 50), kl };
}

const ONE_PAIR = [golden.batches.P1, randomBatch(1, 1, true, 7)];

test('rpo with one pair per batch is dpo, under every weighting and scale', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const { device, dtype, tol } of await devices(gpu)) {
    for (const b of ONE_PAIR) {
      const want = await evaluate('dpo', buildBatch(b, device, dtype), { beta: 0.3 });
      for (const weighting of ['embedding', 'uniform', 'diagonal']) {
        for (const weightScale of ['row', 'mean']) {
          const got = await evaluate('rpo', buildBatch(b, device, dtype), { beta: 0.3, weighting, weightScale });
          const what = `${device.kind} ${weighting}/${weightScale}`;
          assertClose(t, [got.value], [want.value], tol, `${what}: loss`);
          assertClose(t, got.gradChosen, want.gradChosen, tol, `${what}: d/dπc`);
          assertClose(t, got.gradRejected, want.gradRejected, tol, `${what}: d/dπr`);
        }
      }
    }
  }
});

test('rpo with diagonal weights and α = 1 has dpo\'s gradient divided by M', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const { device, dtype, tol } of await devices(gpu)) {
    for (const b of [golden.batches.P, randomBatch(6, 6, true, 21)]) {
      const M = b.chosen.policyLogps.length;
      const dpo = await evaluate('dpo', buildBatch(b, device, dtype));
      const rpo = await evaluate('rpo', buildBatch(b, device, dtype), { weighting: 'diagonal', alpha: 1 });
      assertClose(t, rpo.gradChosen, dpo.gradChosen.map((g) => g / M), tol, `${device.kind} M=${M}: d/dπc`);
      assertClose(t, rpo.gradRejected, dpo.gradRejected.map((g) => g / M), tol, `${device.kind} M=${M}: d/dπr`);
      // The value: the diagonal is DPO's, and each of the M² − M off-diagonal cells is −logσ(0) = log 2.
      assertClose(t, [rpo.value], [(dpo.value * M + (M * M - M) * Math.LN2) / (M * M)], tol, `${device.kind} M=${M}: loss`);
    }
  }
});

test('rpo in the authors\' code form (diagonalForm losses) is dpo at α = 1 and with one pair, whatever α; it couples rows otherwise', async (t) => {
  const gpu = await gpuOrSkip(t);
  const form = { weighting: 'diagonal', diagonalForm: 'losses', beta: 0.3 };
  for (const { device, dtype, tol } of await devices(gpu)) {
    for (const b of [golden.batches.P, randomBatch(6, 6, true, 23)]) {
      const dpo = await evaluate('dpo', buildBatch(b, device, dtype), { beta: 0.3 });
      const rpo = await evaluate('rpo', buildBatch(b, device, dtype), { ...form, alpha: 1 });
      const what = `${device.kind} M=${b.chosen.policyLogps.length}`;
      assertClose(t, [rpo.value], [dpo.value], tol, `${what}: loss`);
      assertClose(t, rpo.gradChosen, dpo.gradChosen, tol, `${what}: d/dπc`);
      assertClose(t, rpo.gradRejected, dpo.gradRejected, tol, `${what}: d/dπr`);
    }
    for (const b of ONE_PAIR) {
      const dpo = await evaluate('dpo', buildBatch(b, device, dtype), { beta: 0.3 });
      for (const alpha of [0, 0.5, 0.8]) {
        const rpo = await evaluate('rpo', buildBatch(b, device, dtype), { ...form, alpha });
        assertClose(t, [rpo.value], [dpo.value], tol, `${device.kind} one pair α=${alpha}: loss`);
        assertClose(t, rpo.gradChosen, dpo.gradChosen, tol, `${device.kind} one pair α=${alpha}: d/dπc`);
        assertClose(t, rpo.gradRejected, dpo.gradRejected, tol, `${device.kind} one pair α=${alpha}: d/dπr`);
        t.true(Number.isFinite(rpo.value));
      }
    }
  }
  // A mean over the M×M matrix: the loss of two micro-batches is not the mean of theirs, so it declares rows coupled.
  const rpo = r.getLoss('rpo');
  t.not(r.lossNeeds(rpo.plugin, rpo.resolveConfig(form as never)).meanOverPairs, true);
  t.throws(() => rpo.resolveConfig({ diagonalForm: 'losses' } as never), { message: /'diagonalForm' 'losses' .*needs weighting 'diagonal', got weighting 'embedding'/ });
});

test('TRL\'s f-divergences: reverse_kl and alpha_divergence at α = 1 are dpo; alpha_divergence at α = 0 is forward_kl', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const { device, dtype, tol } of await devices(gpu)) {
    const b = randomBatch(5, 5, true, 41);
    const dpo = await evaluate('dpo', buildBatch(b, device, dtype), { beta: 0.2 });
    const forward = await evaluate('dpo', buildBatch(b, device, dtype), { beta: 0.2, fDivergenceType: 'forward_kl' });
    const pairs: [Record<string, unknown>, typeof dpo][] = [
      [{ fDivergenceType: 'reverse_kl' }, dpo],
      [{ fDivergenceType: 'alpha_divergence', fAlphaDivergenceCoef: 1 }, dpo],
      [{ fDivergenceType: 'alpha_divergence', fAlphaDivergenceCoef: 0 }, forward],
    ];
    for (const [config, want] of pairs) {
      const got = await evaluate('dpo', buildBatch(b, device, dtype), { beta: 0.2, ...config });
      const what = `${device.kind} ${JSON.stringify(config)}`;
      assertClose(t, [got.value], [want.value], tol, `${what}: loss`);
      assertClose(t, got.gradChosen, want.gradChosen, tol, `${what}: d/dπc`);
      assertClose(t, got.gradRejected, want.gradRejected, tol, `${what}: d/dπr`);
    }
  }
});

test('apo_zero_unpaired on paired data is the mean of apo_zero\'s two terms, halved; its λs weigh each side', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const { device, dtype, tol } of await devices(gpu)) {
    const b = randomBatch(4, 4, true, 51);
    const apo = await evaluate('apo_zero', buildBatch(b, device, dtype), { beta: 0.3 });
    const unpaired = await evaluate('apo_zero_unpaired', buildBatch(b, device, dtype), { beta: 0.3 });
    assertClose(t, [unpaired.value], [apo.value / 2], tol, `${device.kind}: loss`);
    assertClose(t, unpaired.gradChosen, apo.gradChosen.map((g) => g / 2), tol, `${device.kind}: d/dπc`);
    assertClose(t, unpaired.gradRejected, apo.gradRejected.map((g) => g / 2), tol, `${device.kind}: d/dπr`);
  }
});

test('rpo\'s uniform weights are the embedding weights as τ → ∞', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const { device, dtype } of await devices(gpu)) {
    // At τ = 1e6 the softmax weights differ from 1/N by O(1/τ) relative.
    const tol = { rtol: dtype === 'float64' ? 1e-5 : 2e-4, atol: 1e-8 };
    for (const b of [golden.batches.P, golden.batches.U, randomBatch(3, 7, false, 31)]) {
      for (const weightScale of ['row', 'mean']) {
        const uniform = await evaluate('rpo', buildBatch(b, device, dtype), { weighting: 'uniform', weightScale });
        const far = await evaluate('rpo', buildBatch(b, device, dtype), { weighting: 'embedding', tau: 1e6, weightScale });
        const what = `${device.kind} M=${b.chosen.policyLogps.length} N=${b.rejected.policyLogps.length} ${weightScale}`;
        assertClose(t, [far.value], [uniform.value], tol, `${what}: loss`);
        assertClose(t, far.gradChosen, uniform.gradChosen, tol, `${what}: d/dπc`);
        assertClose(t, far.gradRejected, uniform.gradRejected, tol, `${what}: d/dπr`);
      }
    }
  }
});

test('smaller τ moves rpo\'s weight onto same-prompt cells', async (t) => {
  const b = buildBatch(golden.batches.U, r.cpuDevice(), 'float64');
  let last = 0;
  for (const tau of [10, 1, 0.5, 0.1, 0.02]) {
    const got = await evaluate('rpo', b, { tau });
    t.true(got.metrics['weights/same_prompt'] > last, `τ = ${tau}`);
    last = got.metrics['weights/same_prompt'];
  }
  t.true(last > 0.9);
});

test('rpo_simpo with one pair is simpo, with the same β and γ', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const { device, dtype, tol } of await devices(gpu)) {
    for (const b of ONE_PAIR) {
      const want = await evaluate('simpo', buildBatch(b, device, dtype), { beta: 10, gammaBetaRatio: 0.3 });
      for (const weighting of ['embedding', 'uniform', 'diagonal']) {
        const got = await evaluate('rpo_simpo', buildBatch(b, device, dtype), { weighting });
        assertClose(t, [got.value], [want.value], tol, `${device.kind} ${weighting}: loss`);
        assertClose(t, got.gradChosen, want.gradChosen, tol, `${device.kind} ${weighting}: d/dπc`);
        assertClose(t, got.gradRejected, want.gradRejected, tol, `${device.kind} ${weighting}: d/dπr`);
      }
    }
  }
});

test('robust with ε = 0, aot with one pair and dpo agree', async (t) => {
  for (const b of ONE_PAIR) {
    const dpo = await evaluate('dpo', buildBatch(b, r.cpuDevice(), 'float64'));
    for (const name of ['robust', 'aot', 'aot_unpaired']) {
      const got = await evaluate(name, buildBatch(b, r.cpuDevice(), 'float64'));
      assertClose(t, [got.value, ...got.gradChosen, ...got.gradRejected], [dpo.value, ...dpo.gradChosen, ...dpo.gradRejected], { rtol: 1e-12, atol: 1e-15 }, name);
    }
  }
  const P = golden.batches.P;
  const dpo = await evaluate('dpo', buildBatch(P, r.cpuDevice(), 'float64'));
  const robust = await evaluate('robust', buildBatch(P, r.cpuDevice(), 'float64'));
  assertClose(t, [robust.value, ...robust.gradChosen], [dpo.value, ...dpo.gradChosen], { rtol: 1e-12, atol: 1e-15 }, 'robust on P');
});

test('kto\'s KL estimate carries no gradient', async (t) => {
  const b = buildBatch(golden.batches.U, r.cpuDevice(), 'float64');
  const klPolicy = r.tensor(golden.batches.U.kl.policyLogps, undefined, { device: r.cpuDevice(), dtype: 'float64', requiresGrad: true });
  b.batch.kl = { policyLogps: klPolicy, refLogps: b.batch.kl!.refLogps };
  await evaluate('kto', b);
  t.is(klPolicy.grad, null);
  t.truthy(b.chosen.grad);
});

test('gradcheck through rpo (embedding weights, unpaired) and kto on the cpu device', async (t) => {
  const U = golden.batches.U;
  const opts = { device: r.cpuDevice(), dtype: 'float64' as const };
  const fixed = buildBatch(U, r.cpuDevice(), 'float64').batch;
  for (const [name, config] of [['rpo', { tau: 0.3, weightScale: 'mean' }], ['kto', {}], ['rpo_simpo', {}]] as const) {
    const pc = r.tensor(U.chosen.policyLogps, undefined, { ...opts, requiresGrad: true });
    const pr = r.tensor(U.rejected.policyLogps, undefined, { ...opts, requiresGrad: true });
    const res = await r.gradcheck((a, b) => r.getLoss(name).compute({ ...fixed, chosen: { ...fixed.chosen, policyLogps: a }, rejected: { ...fixed.rejected, policyLogps: b } }, config as never).loss, [pc, pr]);
    t.true(res.ok, `${name}: ${JSON.stringify(res)}`);
  }
});

test.after.always(async () => {
  await r.shutdown();
});
