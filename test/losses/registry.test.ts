// Plugin mechanics: registration checks, config resolution, data refusals, mixing.
import test from 'ava';
import * as r from '../../src/index.js';
import { assertClose, gpuOrSkip } from '../helpers/devices.js';
import { buildBatch, devices, evaluate, golden } from './helpers.js';

const cpu = r.cpuDevice();
const BUILTIN = ['rpo', 'rpo_simpo', 'dpo', 'ipo', 'hinge', 'robust', 'bco_pair', 'sppo_hard', 'nca_pair', 'apo_zero', 'apo_down',
  'exo_pair', 'discopop', 'aot', 'aot_unpaired', 'sigmoid_norm', 'simpo', 'cpo', 'slic', 'orpo', 'kto', 'apo_zero_unpaired', 'sft'];

/** A minimal valid plugin, to break one field at a time. */
function plugin(over: Record<string, unknown> = {}): r.PreferenceLoss {
  return {
    name: 'toy_loss',
    data: { paired: true, unpaired: false },
    needs: { reference: false, promptEmbeddings: false, klEstimate: false, tokenAverage: false },
    defaults: { beta: 1, mode: 'a' },
    choices: { mode: ['a', 'b'] },
    compute: (batch) => ({ loss: r.mean(batch.chosen.policyLogps), metrics: {} }),
    ...over,
  } as r.PreferenceLoss;
}

test('every built-in loss is registered, in the documented order', (t) => {
  t.deepEqual(r.listLosses().map((l) => l.name).filter((n) => BUILTIN.includes(n)), BUILTIN);
  for (const name of BUILTIN) t.is(r.getLoss(name).name, name);
});

test('getLoss on an unknown name lists the known ones', (t) => {
  const err = t.throws(() => r.getLoss('dpoo'))!;
  t.regex(err.message, /unknown loss 'dpoo'/);
  for (const name of BUILTIN) t.true(err.message.includes(name), `lists ${name}`);
});

test('registerLoss validates the plugin object', (t) => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ name: 'Toy Loss' }, /'name' must be a string of lower-case letters/],
    [{ name: undefined }, /'name' must be/],
    [{ data: { paired: true } }, /'data' must be \{ paired: boolean, unpaired: boolean \}/],
    [{ data: { paired: false, unpaired: false } }, /accepts neither paired nor unpaired/],
    [{ needs: { reference: true } }, /'needs.promptEmbeddings' must be a boolean/],
    [{ needs: { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: false, gpu: true } }, /unknown key 'needs.gpu'/],
    [{ defaults: { beta: [1] } }, /default of config key 'beta' must be a finite number, a boolean or a string/],
    [{ defaults: { beta: NaN } }, /default of config key 'beta'/],
    [{ choices: { mode: ['b', 'c'] } }, /'choices.mode' must be an array holding the default 'a'/],
    [{ choices: { other: ['x'] } }, /'choices.other' names a key that is not in 'defaults'/],
    [{ compute: 'dpo' }, /'compute' must be a function/],
    [{ validate: 1 }, /'validate' must be a function/],
    [{ needsFor: {} }, /'needsFor' must be a function/],
    [{ validate: () => { throw new Error('beta too small'); } }, /beta too small/],
  ];
  for (const [over, message] of bad) t.throws(() => r.registerLoss(plugin(over)), { message }, JSON.stringify(over));
  t.throws(() => r.registerLoss(null as never), { message: /expected a loss object/ });
  t.false(r.listLosses().some((l) => l.name === 'toy_loss'), 'nothing half-registered');
});

test('registerLoss refuses a duplicate name; unregisterLoss frees it', (t) => {
  t.throws(() => r.registerLoss({ ...r.getLoss('dpo').plugin }), { message: /a loss named 'dpo' is already registered/ });
  r.registerLoss(plugin({ name: 'toy_dup' }));
  t.throws(() => r.registerLoss(plugin({ name: 'toy_dup' })), { message: /'toy_dup' is already registered/ });
  t.true(r.unregisterLoss('toy_dup'));
  t.notThrows(() => r.registerLoss(plugin({ name: 'toy_dup' })));
  t.true(r.unregisterLoss('toy_dup'));
  t.false(r.unregisterLoss('toy_dup'));
});

test('a config is the defaults overridden by a partial config', (t) => {
  const rpo = r.getLoss('rpo');
  t.deepEqual(rpo.resolveConfig(), { beta: 0.1, tau: 0.5, alpha: 0.8, weighting: 'embedding', weightScale: 'row', diagonalForm: 'scores' });
  t.deepEqual(rpo.resolveConfig({ tau: 0.75, weighting: 'uniform' }), { beta: 0.1, tau: 0.75, alpha: 0.8, weighting: 'uniform', weightScale: 'row', diagonalForm: 'scores' });
  t.deepEqual(r.resolveConfig(r.getLoss('rpo_simpo').plugin, {}), { beta: 10, gammaBetaRatio: 0.3, tau: 0.5, alpha: 0.8, weighting: 'embedding', weightScale: 'mean' });
  t.deepEqual(r.getLoss('simpo').resolveConfig(), { beta: 2, gammaBetaRatio: 0.25, labelSmoothing: 0 });
  t.deepEqual(r.getLoss('kto').resolveConfig({ desirableWeight: 1.33 }), { beta: 0.1, desirableWeight: 1.33, undesirableWeight: 1, referencePoint: 'kl' });
  t.deepEqual(r.getLoss('sft').resolveConfig(), { nllAverage: 'tokens' });
});

test('an unknown config key or a wrong type is an error naming the key', (t) => {
  const dpo = r.getLoss('dpo');
  t.throws(() => dpo.resolveConfig({ betta: 0.2 } as never), { message: /loss 'dpo': unknown config key 'betta' \(did you mean 'beta'\?\) \(known keys: beta, labelSmoothing, fDivergenceType, fAlphaDivergenceCoef, useWeighting, ldAlpha\)/ });
  t.throws(() => dpo.resolveConfig({ beta: '0.2' } as never), { message: /config key 'beta' must be a number, got string '0.2'/ });
  t.throws(() => dpo.resolveConfig({ beta: Infinity }), { message: /'beta' must be a finite number/ });
  t.throws(() => dpo.resolveConfig({ beta: 0 }), { message: /'beta' must be > 0/ });
  t.throws(() => dpo.resolveConfig({ labelSmoothing: 0.7 }), { message: /'labelSmoothing' must be in \[0, 0.5\]/ });
  t.throws(() => r.getLoss('ipo').resolveConfig({ tokenAverage: 1 } as never), { message: /'tokenAverage' must be a boolean, got number 1/ });
  t.throws(() => r.getLoss('rpo').resolveConfig({ weighting: 'cosine' } as never), { message: /'weighting' must be one of 'embedding', 'uniform', 'diagonal', got string 'cosine'/ });
  t.throws(() => r.getLoss('rpo').resolveConfig({ weightScale: 'sum' } as never), { message: /'weightScale' must be one of 'row', 'mean'/ });
  t.throws(() => r.getLoss('rpo').resolveConfig({ alpha: 1.5 }), { message: /'alpha' must be in \[0, 1\]/ });
  t.throws(() => r.getLoss('robust').resolveConfig({ labelSmoothing: 0.5 }), { message: /'labelSmoothing' must be in \[0, 0.5\)/ });
  t.throws(() => r.getLoss('exo_pair').resolveConfig({ labelSmoothing: 0 }), { message: /'labelSmoothing' must be in \(0, 1\)/ });
  t.throws(() => dpo.resolveConfig('beta=0.1' as never), { message: /the config must be an object/ });
  // compute() resolves the config too.
  const b = buildBatch(golden.batches.P, cpu, 'float64');
  t.throws(() => dpo.compute(b.batch, { betta: 1 } as never), { message: /unknown config key 'betta'/ });
});

test('paired-only losses refuse unpaired data, naming the losses that accept it', (t) => {
  const b = buildBatch(golden.batches.U, cpu, 'float64').batch;
  const accepting = r.listLosses().filter((l) => l.data.unpaired).map((l) => l.name);
  t.deepEqual(accepting.filter((n) => BUILTIN.includes(n)), ['rpo', 'rpo_simpo', 'aot_unpaired', 'kto', 'apo_zero_unpaired', 'sft']);
  for (const l of r.listLosses().filter((x) => !x.data.unpaired)) {
    const err = t.throws(() => l.compute(b), undefined, l.name)!;
    t.regex(err.message, new RegExp(`loss '${l.name}' needs paired data`));
    t.regex(err.message, /Losses that accept unpaired data: .*rpo, rpo_simpo, aot_unpaired, kto, apo_zero_unpaired, sft/);
  }
});

test('rpo refuses diagonal weights on unpaired data, and rejects what a config needs but the batch lacks', (t) => {
  const U = golden.batches.U;
  const rpo = r.getLoss('rpo');
  t.throws(() => rpo.compute(buildBatch(U, cpu, 'float64').batch, { weighting: 'diagonal' }), {
    message: /weighting 'diagonal' needs paired data.*use weighting 'embedding' or 'uniform'.*Losses that accept unpaired data: .*kto/,
  });
  t.throws(() => rpo.compute(buildBatch(U, cpu, 'float64', { embeddings: true }).batch), { message: /loss 'rpo' needs batch.chosen.promptEmbeddings.*"weighting":"embedding"/ });
  // Uniform weights need no embeddings, and paired data needs only the chosen side's.
  t.notThrows(() => r.tidy(() => rpo.compute(buildBatch(U, cpu, 'float64', { embeddings: true }).batch, { weighting: 'uniform' })));
  const P = buildBatch(golden.batches.P, cpu, 'float64').batch;
  delete P.rejected.promptEmbeddings;
  t.notThrows(() => r.tidy(() => rpo.compute(P)));
  t.throws(() => rpo.compute(buildBatch(U, cpu, 'float64', { ref: true }).batch), { message: /loss 'rpo' needs reference log-probs.*Losses that need no reference: .*rpo_simpo.*simpo, cpo, slic, orpo, sft/ });
  t.deepEqual(r.lossNeeds(rpo, rpo.resolveConfig({ weighting: 'uniform' })).promptEmbeddings, false);
  t.deepEqual(r.lossNeeds(rpo, rpo.resolveConfig()).promptEmbeddings, true);
});

test('each loss says what else it is missing', (t) => {
  const P = golden.batches.P, U = golden.batches.U;
  t.throws(() => r.getLoss('simpo').compute(buildBatch(P, cpu, 'float64', { counts: true }).batch), { message: /loss 'simpo' needs batch.chosen.tokenCounts/ });
  t.throws(() => r.getLoss('ipo').compute(buildBatch(P, cpu, 'float64', { counts: true }).batch), { message: /loss 'ipo' needs batch.chosen.tokenCounts/ });
  t.notThrows(() => r.tidy(() => r.getLoss('ipo').compute(buildBatch(P, cpu, 'float64', { counts: true }).batch, { tokenAverage: false })));
  t.throws(() => r.getLoss('kto').compute(buildBatch(U, cpu, 'float64', { kl: true }).batch), { message: /loss 'kto' needs batch.kl/ });
  t.throws(() => r.getLoss('aot_unpaired').compute(buildBatch(U, cpu, 'float64').batch), { message: /needs M = N; got 3 chosen and 5 rejected.*Losses that accept M ≠ N: .*rpo/ });
  const bad = buildBatch(U, cpu, 'float64').batch;
  t.throws(() => r.getLoss('rpo').compute({ ...bad, paired: true }), { message: /a paired batch needs as many chosen as rejected rows, got 3 and 5/ });
  t.throws(() => r.getLoss('dpo').compute({ ...bad, chosen: { ...bad.chosen, policyLogps: r.zeros([3, 1], { device: cpu }) } }), { message: /batch.chosen.policyLogps must be 1-D/ });
  t.throws(() => r.getLoss('kto').compute({ ...bad, chosen: { ...bad.chosen, refLogps: r.zeros([4], { device: cpu, dtype: 'float64' }) } }), { message: /batch.chosen.refLogps must be \[3\]/ });
});

test('token counts may be int32', async (t) => {
  const P = golden.batches.P;
  const b = buildBatch(P, cpu, 'float64');
  b.batch.chosen.tokenCounts = r.tensor(P.chosen.tokenCounts, undefined, { device: cpu, dtype: 'int32' });
  b.batch.rejected.tokenCounts = r.tensor(P.rejected.tokenCounts, undefined, { device: cpu, dtype: 'int32' });
  const got = await evaluate('simpo', b);
  const want = golden.cases.find((c) => c.loss === 'simpo' && c.batch === 'P' && Object.keys(c.config).length === 0)!;
  assertClose(t, [got.value, ...got.gradChosen], [want.value, ...want.grad.chosen], { rtol: 1e-12 });
});

test('metrics carry no gradient, and every loss reports TRL\'s reward names where it has rewards', async (t) => {
  const P = buildBatch(golden.batches.P, cpu, 'float64').batch;
  for (const l of r.listLosses().filter((x) => BUILTIN.includes(x.name) && x.data.paired)) {
    const { metrics } = r.tidy(() => l.compute(P));
    for (const [k, v] of Object.entries(metrics)) t.false(v.requiresGrad, `${l.name} ${k}`);
    if (l.name !== 'sft') {
      for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen', 'logps/rejected']) t.true(k in metrics, `${l.name} has ${k}`);
    }
  }
});

test('mixing: a weighted sum of losses, metrics prefixed by loss name', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const { device, dtype, tol } of await devices(gpu)) {
    const P = golden.batches.P;
    const mixed = r.mixLosses([{ loss: 'dpo', weight: 1, config: { beta: 0.2 } }, { loss: 'sft', weight: 0.2 }]);
    const registered = r.registerLoss({ ...mixed, name: `mix_test_${device.kind}` });
    t.deepEqual(registered.data, { paired: true, unpaired: false });
    // sft's NLL is TRL's token sum over the batch, which couples rows.
    t.deepEqual(registered.needs, { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: false });
    const got = await evaluate(registered, buildBatch(P, device, dtype));
    const dpo = await evaluate('dpo', buildBatch(P, device, dtype), { beta: 0.2 });
    const sft = await evaluate('sft', buildBatch(P, device, dtype));
    assertClose(t, [got.value], [dpo.value + 0.2 * sft.value], tol, 'mixed loss');
    assertClose(t, got.gradChosen, dpo.gradChosen.map((g, i) => g + 0.2 * sft.gradChosen[i]), tol, 'mixed d/dπc');
    assertClose(t, got.gradRejected, dpo.gradRejected, tol, 'mixed d/dπr');
    t.deepEqual(Object.keys(got.metrics).sort(), [
      'dpo/logps/chosen', 'dpo/logps/rejected', 'dpo/loss', 'dpo/rewards/accuracies', 'dpo/rewards/chosen', 'dpo/rewards/margins',
      'dpo/rewards/rejected', 'sft/logps/chosen', 'sft/loss',
    ]);
    assertClose(t, [got.metrics['dpo/loss'], got.metrics['sft/loss'], got.metrics['dpo/rewards/chosen']], [dpo.value, sft.value, dpo.metrics['rewards/chosen']], tol, 'metrics');
    // The mix accepts only what every term accepts.
    t.throws(() => registered.compute(buildBatch(golden.batches.U, device, dtype).batch), { message: /needs paired data/ });
    r.unregisterLoss(registered.name);
  }
});

test('mixing checks its terms at once and labels repeated losses', async (t) => {
  t.throws(() => r.mixLosses([]), { message: /non-empty array/ });
  t.throws(() => r.mixLosses([{ loss: 'dpoo', weight: 1 }]), { message: /unknown loss 'dpoo'/ });
  t.throws(() => r.mixLosses([{ loss: 'dpo', weight: '1' as never }]), { message: /term 0 \(dpo\) needs a finite number 'weight'/ });
  t.throws(() => r.mixLosses([{ loss: 'dpo', weight: 1, config: { bta: 1 } }]), { message: /unknown config key 'bta'/ });
  const twice = r.mixLosses([{ loss: 'rpo', weight: 0.5 }, { loss: 'rpo', weight: 0.5, config: { weighting: 'uniform' } }]);
  t.deepEqual(twice.data, { paired: true, unpaired: true });
  const got = await evaluate(r.registerLoss({ ...twice, name: 'mix_twice' }), buildBatch(golden.batches.U, cpu, 'float64'));
  t.true('rpo/weights/same_prompt' in got.metrics && 'rpo#2/weights/same_prompt' in got.metrics);
  const a = await evaluate('rpo', buildBatch(golden.batches.U, cpu, 'float64'));
  const b = await evaluate('rpo', buildBatch(golden.batches.U, cpu, 'float64'), { weighting: 'uniform' });
  assertClose(t, [got.value], [0.5 * a.value + 0.5 * b.value], { rtol: 1e-12 });
  r.unregisterLoss('mix_twice');
});

test.after.always(async () => {
  await r.shutdown();
});

test("mixing: each term's needs under its own config; one term that couples rows couples the mix", (t) => {
  // rpo with uniform weights reads no prompt embeddings, and its contrast matrix couples rows.
  const uniform = r.mixLosses([{ loss: 'rpo', weight: 1, config: { weighting: 'uniform' } }, { loss: 'sft', weight: 0.5 }]);
  t.deepEqual(uniform.needs, { reference: true, promptEmbeddings: false, klEstimate: false, tokenAverage: true, meanOverPairs: false });
  const embedded = r.mixLosses([{ loss: 'rpo', weight: 1 }, { loss: 'dpo', weight: 1 }]);
  t.true(embedded.needs.promptEmbeddings);
  t.false(embedded.needs.meanOverPairs);
  t.true(r.mixLosses([{ loss: 'dpo', weight: 1 }, { loss: 'ipo', weight: 1 }]).needs.meanOverPairs);
});

test("mixing with LD-DPO: sft reads the unweighted chosen log-probs, so it sits beside a verbose weight; any other term weighing differently is refused, nested mixes too", async (t) => {
  const ld = r.mixLosses([{ loss: 'dpo', weight: 1, config: { ldAlpha: 0.5 } }, { loss: 'sft', weight: 0.5 }]);
  t.like(ld.needs, { verboseWeight: 0.5, unweightedLogps: true });
  const registered = r.registerLoss({ ...ld, name: 'test_ld_dpo_sft' });
  try {
    const f64 = (v: number[]) => r.tensor(v, [2], { device: cpu, dtype: 'float64' });
    const side = (v: number[]) => ({ policyLogps: f64(v), refLogps: f64(v), tokenCounts: f64([2, 3]) });
    t.throws(() => registered.compute({ paired: true, chosen: side([-1, -2]), rejected: side([-3, -4]) }), { message: /needs batch\.chosen\.unweightedLogps/ });
    const out = registered.compute({ paired: true, chosen: { ...side([-1, -2]), unweightedLogps: f64([-2, -2]) }, rejected: side([-3, -4]) });
    // sft: −Σ unweighted / Σ tokens = 4 / 5 (the weighted policyLogps would give 3 / 5).
    t.true(Math.abs((await out.metrics['sft/loss'].item()) - 0.8) < 1e-15);
  } finally {
    r.unregisterLoss('test_ld_dpo_sft');
  }
  // Without a verbose weight the mix asks for nothing more (and reads weighted log-probs through dpo: not exempt itself).
  t.is(r.mixLosses([{ loss: 'dpo', weight: 1 }, { loss: 'sft', weight: 0.5 }]).needs.unweightedLogps, undefined);
  t.true(r.mixLosses([{ loss: 'sft', weight: 1 }, { loss: 'sft', weight: 0.5, config: { nllAverage: 'rows' } }]).needs.unweightedLogps);
  const refused = /weigh the verbose part of the answers differently \(dpo 0.5, ipo 1\)/;
  t.throws(() => r.mixLosses([{ loss: 'dpo', weight: 1, config: { ldAlpha: 0.5 } }, { loss: 'sft', weight: 1 }, { loss: 'ipo', weight: 1 }]), { message: refused });
  const inner = r.registerLoss({ ...r.mixLosses([{ loss: 'dpo', weight: 1 }, { loss: 'sft', weight: 1 }]), name: 'test_inner_dpo_sft' });
  try {
    t.throws(() => r.mixLosses([{ loss: 'dpo', weight: 1, config: { ldAlpha: 0.5 } }, { loss: inner, weight: 1 }]), { message: /\(dpo 0.5, test_inner_dpo_sft 1\)/ });
  } finally {
    r.unregisterLoss(inner.name);
  }
});

test('which built-in losses are a mean over pairs (one pass per micro-batch) and which couple rows', (t) => {
  const coupled = r.listLosses().filter((l) => r.lossNeeds(l.plugin, l.resolveConfig()).meanOverPairs !== true).map((l) => l.name).sort();
  t.deepEqual(coupled.filter((n) => r.builtinLosses.some((b) => b.name === n)), ['aot', 'aot_unpaired', 'cpo', 'kto', 'orpo', 'rpo', 'rpo_simpo', 'sft']);
  // TRL's NLL sums tokens over rows; the per-row mean does not couple them (ORPO's odds ratio does not either).
  for (const name of ['sft', 'cpo', 'orpo']) {
    const l = r.getLoss(name);
    t.true(r.lossNeeds(l.plugin, l.resolveConfig({ nllAverage: 'rows' })).meanOverPairs, `${name} with nllAverage 'rows'`);
  }
  t.throws(() => r.registerLoss({ ...r.getLoss('dpo').plugin, name: 'bad_mean_flag', needs: { ...r.getLoss('dpo').needs, meanOverPairs: 1 as unknown as boolean } }), {
    message: /'needs.meanOverPairs' must be a boolean when given/,
  });
});
