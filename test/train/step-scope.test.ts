// contrastScope 'step': k micro-batches of b rows give the parameter gradients of one batch of k·b
// rows for losses that couple rows (RPO's contrast matrix, KTO's KL estimate, AOT's sort, ORPO's
// token sums, mixes). The oracle is the one-pass step over one batch of the same k·b records (one
// graph, one loss); tiny random LLaMA over the LLaMA tokenizer's vocabulary, as trainer.test.ts.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { planPreferenceBatches, readPreferenceJsonl, type PreferenceDataset } from '../../src/data/index.js';
import { getLoss, lossNeeds, mixLosses, registerLoss, type PreferenceLoss } from '../../src/losses/index.js';
import {
  backpropagate, mergeIndexBatches, singlePassStep, tokenizeStep, twoPassStep, trainPreference, referenceOf,
  type PlannedMicroBatch, type PromptEmbedder, type StepContext, type StepMetrics, type TrainPreferenceOptions,
} from '../../src/train/index.js';
import { ReferenceLogpsCache } from '../../src/train/reference-cache.js';
import { PromptEmbeddingCache } from '../../src/train/prompt-embeddings.js';
import { dropoutSeedOf } from '../../src/train/step.js';
import { buildBatch as buildTrainBatch } from '../../src/train/batch.js';
import { sideLogps } from '../../src/train/sequence-logps.js';
import { setDropoutState } from '../../src/autograd/random.js';
import { cpu, gpuOrSkip } from '../helpers/devices.js';
import { tiny, tokenizer } from '../helpers/tiny-llama.js';
import { PAIRED, textEmbedder } from '../helpers/step-data.js';
import { normRel } from '../helpers/norm-relative.js';

/** A reference that differs from the policy, so that no term of a loss is at its policy = reference point. */
const otherRef = (device: r.Device = cpu, dtype: 'float32' | 'float64' = 'float64') => tiny(device, dtype, 2);

// Six desirable and two undesirable rows: planned in micro-batches of 2 (stratified), the second and
// fourth hold no undesirable row; the step of four holds both sides.
const UNPAIRED = [
  { prompt: 'The sky is', completion: ' blue.', label: true },
  { prompt: 'Water is', completion: ' wet.', label: true },
  { prompt: 'Fire is', completion: ' hot.', label: true },
  { prompt: 'The sky is', completion: ' green.', label: false },
  { prompt: 'Snow is', completion: ' white.', label: true },
  { prompt: 'Water is', completion: ' a liquid.', label: true },
  { prompt: 'Fire is', completion: ' frozen.', label: false },
  { prompt: 'Snow is', completion: ' cold and soft.', label: true },
];

function writeData(rows: object[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'relpo-step-scope-')), 'data.jsonl');
  writeFileSync(path, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return path;
}
const paired = async () => readPreferenceJsonl(writeData(PAIRED));
const unpaired = async () => readPreferenceJsonl(writeData(UNPAIRED));

const embedder = textEmbedder;

registerLoss(mixLosses([{ loss: 'rpo', weight: 1, config: { weighting: 'uniform' } }, { loss: 'sft', weight: 0.5 }], 'test_mix_rpo_sft'));
// TRL's [sigmoid, sft] with ld_alpha (and use_weighting on the DPO term): sft reads chosen.unweightedLogps.
registerLoss(mixLosses([{ loss: 'dpo', weight: 1, config: { ldAlpha: 0.4 } }, { loss: 'sft', weight: 0.5 }], 'test_mix_dpo_ld_sft'));
registerLoss(mixLosses([{ loss: 'dpo', weight: 1, config: { ldAlpha: 0, useWeighting: true } }, { loss: 'sft', weight: 2 }], 'test_mix_dpo_wpo_ld_sft'));

interface Setup {
  loss: string;
  lossConfig?: Record<string, number | string | boolean>;
  data: PreferenceDataset;
  policy: r.CausalLM;
  reference?: r.CausalLM;
  promptEmbedder?: PromptEmbedder;
  precompute?: boolean;
}

async function contextOf(s: Setup): Promise<StepContext> {
  const loss = getLoss(s.loss);
  const config = loss.resolveConfig(s.lossConfig);
  const needs = lossNeeds(loss.plugin, config);
  const tok = await tokenizer();
  const device = s.policy.device;
  let reference = referenceOf(s.policy, s.reference);
  if (s.precompute && reference) {
    const cache = new ReferenceLogpsCache(reference);
    await cache.fill(tok, s.data, 3, { device });
    reference = cache.logps;
  }
  return {
    policy: s.policy, reference, loss, config, needs, dtype: s.policy.dtype,
    prompts: s.promptEmbedder && needs.promptEmbeddings ? new PromptEmbeddingCache(s.promptEmbedder, s.data) : undefined,
    tokenizer: tok, dataset: s.data, tokenize: { device }, seed: 5,
    refuse: (step, where, what, records) => new Error(`step ${step} (${where}): ${what}; records ${records}`),
  };
}

/** The first k micro-batches of b rows (file order; unpaired ones may be one-sided), and the one batch of k·b. */
function plans(data: PreferenceDataset, k: number, b: number): { micro: PlannedMicroBatch[]; whole: PlannedMicroBatch[] } {
  const small = planPreferenceBatches(data, { batchSize: b, shuffle: false, oneSided: true }).slice(0, k);
  const big = planPreferenceBatches(data, { batchSize: k * b, shuffle: false })[0];
  return { micro: small.map((index, i) => ({ epoch: 0, batchInEpoch: i, index })), whole: [{ epoch: 0, batchInEpoch: 0, index: big }] };
}

function flat(parts: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, q) => n + q.length, 0));
  let at = 0;
  for (const q of parts) {
    out.set(q, at);
    at += q.length;
  }
  return out;
}

async function grads(m: r.CausalLM): Promise<Float64Array> {
  const parts: ArrayLike<number>[] = [];
  for (const p of m.parameters()) if (p.requiresGrad) parts.push(p.grad ? await p.grad.data() : new Float64Array(p.size));
  for (const p of m.parameters()) p.zeroGrad();
  return flat(parts);
}

/** Gradients and numbers of the two-pass step over k micro-batches against the one-pass step over one batch of k·b. */
async function compare(t: ExecutionContext, s: Setup, k: number, b: number, tol: number, what: string) {
  const ctx = await contextOf(s);
  const { micro, whole } = plans(s.data, k, b);
  t.deepEqual(mergeIndexBatches(micro.map((m) => m.index)), whole[0].index, `${what}: the step's rows are the batch's, in its order`);
  const two = await twoPassStep(ctx, 1, micro);
  const g2 = await grads(s.policy);
  const one = await singlePassStep(ctx, 1, whole);
  const g1 = await grads(s.policy);
  const rel = normRel(g2, g1);
  t.true(rel <= tol, `${what}: parameter gradients differ by ${rel.toExponential(2)} (norm-relative) > ${tol}`);
  t.true(Math.abs(two.loss - one.loss) <= tol * Math.max(1, Math.abs(one.loss)), `${what}: loss ${two.loss} vs ${one.loss}`);
  t.true(Math.abs(two.gradNorm - one.gradNorm) <= tol * one.gradNorm, `${what}: grad norm ${two.gradNorm} vs ${one.gradNorm}`);
  t.deepEqual(Object.keys(two.metrics).sort(), Object.keys(one.metrics).sort(), `${what}: metric names`);
  for (const [key, v] of Object.entries(one.metrics)) t.true(Math.abs(two.metrics[key] - v) <= tol * Math.max(1, Math.abs(v)), `${what}: ${key} ${two.metrics[key]} vs ${v}`);
  t.deepEqual(two.lossRows, one.lossRows, `${what}: the loss saw the whole step`);
  t.true(g1.some((x) => x !== 0), `${what}: the gradient is not zero`);
  return { two, one };
}

test('step scope, float64 on the CPU: k micro-batches give the gradients of one batch of k·b (rpo paired and unpaired, rpo_simpo, kto, aot, orpo, a mix)', async (t) => {
  const [p, u] = [await paired(), await unpaired()];
  const cases: [string, Omit<Setup, 'policy' | 'reference' | 'data'> & { data: PreferenceDataset }, number, number][] = [
    ['rpo paired, embedding weights, prompts repeated across micro-batches', { loss: 'rpo', data: p, promptEmbedder: embedder }, 4, 2],
    ['rpo paired, the stand-in prompt embeddings', { loss: 'rpo', data: p, lossConfig: { tau: 0.25 } }, 2, 3],
    ['rpo unpaired, micro-batches with no rejected row', { loss: 'rpo', data: u, promptEmbedder: embedder }, 4, 2],
    ['rpo_simpo, diagonal weights', { loss: 'rpo_simpo', data: p, lossConfig: { weighting: 'diagonal', alpha: 0.6 } }, 4, 2],
    ['kto unpaired, its KL rows over the step', { loss: 'kto', data: u }, 4, 2],
    ['kto paired', { loss: 'kto', data: p }, 2, 2],
    ['aot', { loss: 'aot', data: p }, 4, 2],
    ['orpo', { loss: 'orpo', data: p }, 4, 2],
    ['rpo (uniform) + 0.5 sft', { loss: 'test_mix_rpo_sft', data: p }, 4, 2],
  ];
  for (const [what, s, k, b] of cases) {
    const policy = tiny(), reference = otherRef();
    const { two } = await compare(t, { ...s, policy, reference }, k, b, 1e-10, what);
    t.is(two.lossRows.chosen, s.data.paired ? k * b : s.data.records.filter((x) => (x as { label: boolean }).label).length, `${what}: rows`);
    policy.dispose();
    reference.dispose();
  }
});

test('step scope, float64: the token-sum NLLs (sft paired and unpaired, cpo, orpo over prompt and completion), WPO and LD-DPO (dpo, hinge, aot, dpo + sft) give the gradients of one batch of k·b', async (t) => {
  const [p, u] = [await paired(), await unpaired()];
  const cases: [string, Omit<Setup, 'policy' | 'reference' | 'data'> & { data: PreferenceDataset }, number, number][] = [
    ['sft, Σ over the step\'s tokens', { loss: 'sft', data: p }, 4, 2],
    ['sft unpaired, micro-batches with no rejected row', { loss: 'sft', data: u }, 4, 2],
    ['cpo', { loss: 'cpo', data: p }, 2, 3],
    ['orpo, NLL over prompt and completion', { loss: 'orpo', data: p, lossConfig: { nllPrompt: true } }, 4, 2],
    ['dpo with WPO weights and LD-DPO', { loss: 'dpo', data: p, lossConfig: { useWeighting: true, ldAlpha: 0.4 } }, 4, 2],
    ['hinge with WPO, LD-DPO and an f-divergence', { loss: 'hinge', data: p, lossConfig: { useWeighting: true, ldAlpha: 0.4, fDivergenceType: 'js_divergence', beta: 2 } }, 4, 2],
    ['aot (rows coupled by the sort) with LD-DPO', { loss: 'aot', data: p, lossConfig: { ldAlpha: 0.4 } }, 4, 2],
    ['sft, the RPO authors\' sequence sums', { loss: 'sft', data: p, lossConfig: { nllAverage: 'sequences' } }, 4, 2],
    ['dpo with LD-DPO + 0.5 sft over the unweighted chosen tokens', { loss: 'test_mix_dpo_ld_sft', data: p }, 4, 2],
    ['dpo with WPO and LD-DPO (α = 0) + 2 sft', { loss: 'test_mix_dpo_wpo_ld_sft', data: p }, 2, 3],
  ];
  for (const [what, s, k, b] of cases) {
    const policy = tiny(), reference = otherRef();
    const { two } = await compare(t, { ...s, policy, reference }, k, b, 1e-10, what);
    if (s.data.paired) t.is(two.lossRows.chosen, k * b, `${what}: rows`);
    policy.dispose();
    reference.dispose();
  }
});

test('step scope composes with LoRA (the base as reference), gradient checkpointing and precomputed reference log-probs (float64)', async (t) => {
  const p = await paired();
  const lora = tiny();
  r.applyLora(lora, { r: 2, alpha: 4, seed: 3, targetModules: ['q_proj', 'v_proj', 'down_proj'] });
  // LoRA's B starts at zero (the policy is its base): one step moves it off.
  await trainPreference({ policy: lora, tokenizer: await tokenizer(), dataset: p, loss: 'dpo', lr: 0.05, batchSize: 4, steps: 1 });
  await compare(t, { loss: 'rpo', data: p, policy: lora, promptEmbedder: embedder }, 4, 2, 1e-10, 'LoRA');
  await compare(t, { loss: 'kto', data: await unpaired(), policy: lora }, 4, 2, 1e-10, 'LoRA kto');
  lora.dispose();
  const ckpt = tiny(), reference = otherRef();
  ckpt.gradientCheckpointingEnable();
  await compare(t, { loss: 'rpo', data: p, policy: ckpt, reference, promptEmbedder: embedder }, 4, 2, 1e-10, 'gradient checkpointing');
  ckpt.dispose();
  const pre = tiny();
  await compare(t, { loss: 'rpo', data: p, policy: pre, reference, precompute: true, lossConfig: { weighting: 'uniform' } }, 4, 2, 1e-10, 'precomputed reference');
  pre.dispose();
  reference.dispose();
});

test('step scope with LoRA dropout: the gradients of one graph over the same micro-batches and dropout seeds', async (t) => {
  const p = await paired();
  const run = async (dropout: number) => {
    const policy = tiny();
    r.applyLora(policy, { r: 2, alpha: 4, seed: 3, dropout, targetModules: ['q_proj', 'v_proj', 'down_proj', 'up_proj'] });
    const ctx = await contextOf({ loss: 'rpo', data: p, policy, lossConfig: { weighting: 'uniform' } });
    // B starts at zero: one step first, so the adapters' input (where dropout acts) matters.
    await trainPreference({ policy, tokenizer: await tokenizer(), dataset: p, loss: 'dpo', lr: 0.05, batchSize: 4, steps: 1 });
    const { micro } = plans(p, 4, 2);
    await twoPassStep(ctx, 3, micro);
    const two = await grads(policy);
    // The oracle: every micro-batch's policy log-probs with a graph, from its dropout seed, one loss.
    const mbs = await tokenizeStep(ctx, 3, micro);
    const out = r.tidy(() => {
      const cs: r.Tensor[] = [], rs: r.Tensor[] = [], rc: r.Tensor[] = [], rr: r.Tensor[] = [];
      mbs.forEach((mb, i) => {
        setDropoutState(dropoutSeedOf(ctx.seed, 3, i));
        policy.train();
        cs.push(sideLogps(policy, mb.chosen!));
        rs.push(sideLogps(policy, mb.rejected!));
        rc.push(ctx.reference!(mb.chosen!));
        rr.push(ctx.reference!(mb.rejected!));
      });
      const ids = micro.flatMap((m) => m.index.chosenPromptIds);
      const batch = { paired: true, chosen: { policyLogps: r.concat(cs, 0), refLogps: r.concat(rc, 0), promptIds: ids }, rejected: { policyLogps: r.concat(rs, 0), refLogps: r.concat(rr, 0), promptIds: ids } };
      const l = ctx.loss.compute(batch, ctx.config).loss;
      l.backward();
      return l;
    });
    out.dispose();
    const oracle = await grads(policy);
    policy.dispose();
    return { two, oracle };
  };
  const on = await run(0.3);
  const rel = normRel(on.two, on.oracle);
  t.true(rel <= 1e-10, `dropout 0.3: ${rel.toExponential(2)}`);
  const off = await run(0);
  t.true(normRel(off.two, on.two) > 1e-3, 'dropout changes the gradients (the masks are on)');
});

test('step scope on WebGPU (float32): k micro-batches give the gradients of one batch of k·b to 1e-5 (rpo with embeddings, kto unpaired)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  for (const [what, s] of [['rpo', { loss: 'rpo', data: await paired(), promptEmbedder: embedder }], ['kto', { loss: 'kto', data: await unpaired() }]] as const) {
    const policy = tiny(gpu, 'float32'), reference = otherRef(gpu, 'float32');
    await compare(t, { ...s, policy, reference }, 4, 2, 1e-5, `webgpu ${what}`);
    policy.dispose();
    reference.dispose();
  }
  // LoRA (the base as reference) on unpaired rows, with micro-batches that hold no rejected row.
  const lora = tiny(gpu, 'float32');
  r.applyLora(lora, { r: 2, alpha: 4, seed: 3, targetModules: ['q_proj', 'v_proj', 'down_proj'] });
  await trainPreference({ policy: lora, tokenizer: await tokenizer(), dataset: await paired(), loss: 'dpo', lr: 0.05, batchSize: 4, steps: 1 });
  await compare(t, { loss: 'rpo', data: await unpaired(), policy: lora, lossConfig: { weighting: 'uniform' } }, 4, 2, 1e-5, 'webgpu LoRA rpo unpaired');
  lora.dispose();
});

async function paramValues(m: r.CausalLM): Promise<Float64Array> {
  const out: ArrayLike<number>[] = [];
  for (const p of m.parameters()) out.push(await p.data());
  return flat(out);
}

const outDir = () => mkdtempSync(join(tmpdir(), 'relpo-step-scope-out-'));

test('trainPreference: 3 AdamW steps of 4 micro-batches × 2 pairs equal 3 steps of one batch of 8 (rpo, shuffled, float64); micro-batch scope differs; dpo is the same either way', async (t) => {
  const p = await paired();
  const run = async (extra: Partial<TrainPreferenceOptions>) => {
    const policy = tiny(), reference = tiny();
    const res = await trainPreference({
      policy, reference, tokenizer: await tokenizer(), dataset: p, loss: 'rpo', lr: 0.02, batchSize: 8, steps: 3, seed: 11, promptEmbedder: embedder, ...extra,
    });
    const params = await paramValues(policy);
    policy.dispose();
    reference.dispose();
    return { res, params };
  };
  const one = await run({});
  const acc = await run({ batchSize: 2, gradientAccumulationSteps: 4 });
  t.true(normRel(acc.params, one.params) <= 1e-10, `weights after 3 steps: ${normRel(acc.params, one.params).toExponential(2)}`);
  one.res.history.forEach((m, i) => {
    for (const key of ['loss', 'grad_norm', 'rewards/accuracies', 'weights/diagonal', 'weights/same_prompt']) {
      t.true(Math.abs(acc.res.history[i][key] - m[key]) <= 1e-10 * Math.max(1, Math.abs(m[key])), `step ${i + 1} ${key}: ${acc.res.history[i][key]} vs ${m[key]}`);
    }
  });
  t.deepEqual(acc.res.history.map((m) => [m['loss_rows/chosen'], m['loss_rows/rejected']]), [[8, 8], [8, 8], [8, 8]], 'an 8×8 contrast matrix per step');
  const micro = await run({ batchSize: 2, gradientAccumulationSteps: 4, contrastScope: 'micro-batch' });
  t.deepEqual(micro.res.history.map((m) => m['loss_rows/chosen']), [2, 2, 2], 'a 2×2 matrix per micro-batch');
  // Step 1 starts at policy = reference (log 2 either way); the steps differ.
  t.true(normRel(micro.params, one.params) > 1e-4, 'micro-batch scope is another loss');
  // With one micro-batch per step the scope changes nothing, bit for bit.
  const k1 = await run({ contrastScope: 'micro-batch' });
  t.deepEqual(k1.params, one.params);
  t.deepEqual(k1.res.history.map((m) => m.loss), one.res.history.map((m) => m.loss));
  // dpo is a mean over pairs: one pass per micro-batch in either scope, the same steps bit for bit.
  const dpoStep = await run({ loss: 'dpo', batchSize: 2, gradientAccumulationSteps: 4 });
  const dpoMicro = await run({ loss: 'dpo', batchSize: 2, gradientAccumulationSteps: 4, contrastScope: 'micro-batch' });
  t.deepEqual(dpoStep.params, dpoMicro.params);
});

test('micro-batch scope: the step loss is the mean of each micro-batch\'s own rpo loss', async (t) => {
  const p = await paired();
  const policy = tiny(), reference = otherRef(), trained = tiny();
  const res = await trainPreference({ policy: trained, reference, tokenizer: await tokenizer(), dataset: p, loss: 'rpo', lr: 0.02, batchSize: 3, gradientAccumulationSteps: 2, steps: 1, shuffle: false, contrastScope: 'micro-batch' });
  const ctx = await contextOf({ loss: 'rpo', data: p, policy, reference });
  const each: number[] = [];
  for (const index of planPreferenceBatches(p, { batchSize: 3, shuffle: false }).slice(0, 2)) {
    const tok = await r.tokenizePreferenceBatch(ctx.tokenizer, p, index, { device: cpu });
    const l = r.tidy(() => ctx.loss.compute(buildTrainBatch(tok, policy, ctx.reference, ctx.needs, 'float64'), ctx.config).loss);
    each.push(await l.item());
    l.dispose();
  }
  t.true(Math.abs(res.history[0].loss - (each[0] + each[1]) / 2) < 1e-12, `${res.history[0].loss} vs ${each}`);
  for (const m of [policy, reference, trained]) m.dispose();
});

test('step scope: crash after step 2 and resume gives the uninterrupted run; the scope is in the checkpoint, and one without it resumes as micro-batch', async (t) => {
  const data = await unpaired();
  const common = { tokenizer: await tokenizer(), dataset: data, loss: 'kto', lr: 0.02, batchSize: 2, gradientAccumulationSteps: 4, seed: 3, steps: 4 } as const;
  const refA = tiny(), a = tiny();
  const runA = await trainPreference({ ...common, policy: a, reference: refA });
  const out = outDir();
  const refB = tiny(), b = tiny();
  const crash = (m: StepMetrics) => {
    if (m.step === 3) throw new Error('simulated crash');
  };
  await t.throwsAsync(trainPreference({ ...common, policy: b, reference: refB, outDir: out, saveEvery: 2, log: crash }), { message: 'simulated crash' });
  const state = JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')) as { step: number; contrastScope: string };
  t.like(state, { step: 2, contrastScope: 'step' });
  const b2 = tiny();
  const runB = await trainPreference({ ...common, policy: b2, reference: refB, outDir: out, saveEvery: 2, resume: true });
  t.deepEqual(runB.history.map((m) => [m.step, m.loss, m.grad_norm]), runA.history.slice(2).map((m) => [m.step, m.loss, m.grad_norm]));
  t.deepEqual(await paramValues(b2), await paramValues(a));
  // A checkpoint written before scopes existed: micro-batch scope; asking for step scope is an error.
  const { contrastScope: _, ...old } = state;
  writeFileSync(join(out, 'checkpoint', 'trainer_state.json'), JSON.stringify({ ...old, step: 2 }));
  const b3 = tiny();
  await t.throwsAsync(trainPreference({ ...common, policy: b3, reference: refB, outDir: out, resume: true, contrastScope: 'step', steps: 3 }), {
    message: /was trained with contrastScope 'micro-batch', this run asks for 'step'/,
  });
  for (const m of [refA, a, refB, b, b2, b3]) m.dispose();
});

// rpo until its second call, then NaN (the step loss of step 2).
let nanCalls = 0;
registerLoss({
  ...(getLoss('rpo').plugin as PreferenceLoss),
  name: 'test_rpo_nan_at_step2',
  compute(batch, config) {
    const out = getLoss('rpo').plugin.compute(batch, config as never);
    return ++nanCalls === 2 ? { ...out, loss: r.mul(out.loss, NaN) } : out;
  },
});

test('step scope: a NaN step loss refuses the step, naming every record of the step; the weights stay those of the checkpoint; a step without one side is refused', async (t) => {
  const p = await paired();
  const policy = tiny(), reference = tiny();
  const out = outDir();
  const err = await t.throwsAsync(trainPreference({
    policy, reference, tokenizer: await tokenizer(), dataset: p, loss: 'test_rpo_nan_at_step2', lr: 0.01, batchSize: 2, gradientAccumulationSteps: 2, steps: 2, outDir: out, saveEvery: 1, shuffle: false,
  }));
  t.regex(err!.message, /step 2 \(epoch 0, batch 2, 2 micro-batches\): loss is NaN/);
  t.regex(err!.message, /records are \S*data\.jsonl:5, \S*data\.jsonl:6, \S*data\.jsonl:7, \S*data\.jsonl:8\. /);
  t.regex(err!.message, /last checkpoint \(step 1\)/);
  const saved = await r.loadPretrainedLlama(join(out, 'checkpoint'), { device: cpu, dtype: 'float64' });
  t.deepEqual(await paramValues(saved), await paramValues(policy));
  t.true(policy.parameters().every((q) => q.grad === null), 'the gradients were dropped');
  // A non-finite value in pass 1 (a reference that gives NaN) names the micro-batch and its records.
  const broken = otherRef();
  r.tidy(() => void broken.loadStateDict(new Map([['lm_head.weight', r.mul(broken.lm_head!.weight, NaN)]]), { strict: false }));
  const bad = await contextOf({ loss: 'rpo', data: p, policy, reference: broken, lossConfig: { weighting: 'uniform' } });
  await t.throwsAsync(twoPassStep(bad, 4, plans(p, 2, 2).micro), { message: /step 4 \(epoch 0, batch 0, micro-batch 1 of 2\): chosen\.refLogps\[0\] is NaN \(pass 1\); records .*data\.jsonl:1, .*data\.jsonl:2$/ });
  t.true(policy.parameters().every((q) => q.grad === null), 'pass 1 left no gradient');
  broken.dispose();
  // Unpaired rows of one side only: a step of two micro-batches of 2 from 3 desirable + 1 undesirable rows.
  const lopsided = await readPreferenceJsonl(writeData([...UNPAIRED.slice(0, 3), ...UNPAIRED.slice(4, 8)].map((x) => ({ ...x, label: true })).concat([UNPAIRED[3]])));
  const ctx = await contextOf({ loss: 'rpo', data: lopsided, policy, reference, lossConfig: { weighting: 'uniform' } });
  // 7 desirable, 1 undesirable: the second micro-batch of 2 holds 2 desirable rows.
  const second = planPreferenceBatches(lopsided, { batchSize: 2, shuffle: false, oneSided: true })[1];
  t.deepEqual([second.m, second.n], [2, 0]);
  await t.throwsAsync(twoPassStep(ctx, 1, [{ epoch: 0, batchInEpoch: 1, index: second }]), { message: /hold no undesirable rows, and a step needs both/ });
  for (const m of [policy, reference, saved]) m.dispose();
});

test.serial('memory: a LoRA step of 8 micro-batches peaks within 5% of one micro-batch above the weights; full fine-tuning within 5% of 8 micro-batches in micro-batch scope (rpo)', async (t) => {
  // 16 pairs of one length, whose completions run to 40 tokens: every micro-batch is the same size,
  // and the activations, not the weights, set the peak.
  const rows = Array.from({ length: 16 }, (_, i) => ({ prompt: `Question ${'ABCDEFGHIJKLMNOP'[i]}:`, chosen: ' yes'.repeat(40), rejected: ' no'.repeat(40) }));
  const p = await readPreferenceJsonl(writeData(rows));
  const peakAbove = async (k: number, lora: boolean, contrastScope: 'step' | 'micro-batch' = 'step') => {
    const policy = tiny(), reference = lora ? undefined : otherRef();
    if (lora) r.applyLora(policy, { r: 2, alpha: 4, seed: 3 });
    const fixed = cpu.memory().liveBytes;
    // AdamW's two moments and the gradient of each trainable weight.
    const trainable = policy.parameters().filter((q) => q.requiresGrad).reduce((n, q) => n + q.size * 8, 0);
    cpu.resetPeakMemory();
    await trainPreference({
      policy, ...(reference ? { reference } : {}), tokenizer: await tokenizer(), dataset: p, loss: 'rpo', lr: 0.01, batchSize: 2,
      gradientAccumulationSteps: k, contrastScope, steps: 1, shuffle: false,
    });
    const peak = cpu.memory().peakLiveBytes ?? NaN;
    policy.dispose();
    reference?.dispose();
    return peak - fixed - 3 * trainable;
  };
  const lora1 = await peakAbove(1, true), lora8 = await peakAbove(8, true);
  t.log(`LoRA: bytes above the weights, their gradients and AdamW's moments: k = 1 ${lora1}, k = 8 ${lora8}`);
  t.true(lora1 > 0);
  t.true(lora8 <= 1.05 * lora1, `LoRA, k = 8: ${lora8} bytes, k = 1: ${lora1}`);
  const micro8 = await peakAbove(8, false, 'micro-batch'), step8 = await peakAbove(8, false);
  t.log(`full fine-tuning, 8 micro-batches: micro-batch scope ${micro8}, step scope ${step8}`);
  t.true(step8 <= 1.05 * micro8, `full, k = 8: step scope ${step8} bytes, micro-batch scope ${micro8}`);
});

test.serial('a two-pass step leaves nothing behind but the gradients (live bytes after zeroGrad equal those before)', async (t) => {
  const p = await paired();
  const policy = tiny(), reference = otherRef();
  for (const s of [{ loss: 'rpo', promptEmbedder: embedder }, { loss: 'kto' }]) {
    const ctx = await contextOf({ ...s, data: s.loss === 'kto' ? await unpaired() : p, policy, reference });
    const before = cpu.memory().liveBytes;
    for (let step = 1; step <= 2; step++) {
      await twoPassStep(ctx, step, plans(ctx.dataset, 4, 2).micro);
      for (const q of policy.parameters()) q.zeroGrad();
      t.is(cpu.memory().liveBytes, before, `${s.loss}, after step ${step}`);
    }
  }
  policy.dispose();
  reference.dispose();
});

test('pass 2 replays pass 1: backpropagate alone gives the gradient of Σ g·log p', async (t) => {
  const p = await paired();
  const policy = tiny();
  const ctx = await contextOf({ loss: 'simpo', data: p, policy });
  const { micro } = plans(p, 1, 3);
  const [mb] = await tokenizeStep(ctx, 1, micro);
  const g = { chosen: Float64Array.from([0.5, -1, 2]), rejected: Float64Array.from([1, 0, -0.25]) };
  backpropagate(ctx, mb, { chosen: { policyLogps: g.chosen }, rejected: { policyLogps: g.rejected } }, 0);
  const got = await grads(policy);
  r.tidy(() => {
    const lc = sideLogps(policy, mb.chosen!), lr = sideLogps(policy, mb.rejected!);
    const weighted = r.add(r.sum(r.mul(lc, r.tensor(Array.from(g.chosen), [3], { device: cpu, dtype: 'float64' }))), r.sum(r.mul(lr, r.tensor(Array.from(g.rejected), [3], { device: cpu, dtype: 'float64' }))));
    weighted.backward();
  });
  t.deepEqual(got, await grads(policy));
  policy.dispose();
});
