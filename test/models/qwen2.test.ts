import test from 'ava';
import { readFileSync } from 'node:fs';
import * as r from '../../src/index.js';
import { cpu, gpuOrSkip } from '../helpers/devices.js';
import {
  type ArchGolden, checkGradients, checkGreedy, checkLoraMerge, checkLogits, checkNf4, checkRpoTraining, checkSaveLoad, checkSwitchesMatter,
} from '../helpers/arch-golden.js';

/** Written by test/models/golden/make_qwen2_golden.py (a plain-torch transcription of transformers' Qwen2ForCausalLM). */
const FILE = JSON.parse(readFileSync(new URL('../../../test/models/golden/qwen2.json', import.meta.url).pathname, 'utf8')) as {
  variants: Record<'qwen2' | 'qwen2-window', Omit<ArchGolden, 'ids' | 'lengths' | 'targets' | 'completion_mask' | 'shape'>>;
} & Pick<ArchGolden, 'ids' | 'lengths' | 'targets' | 'completion_mask' | 'shape'>;
const golden = (v: 'qwen2' | 'qwen2-window'): ArchGolden => ({ ...FILE, ...FILE.variants[v] });
const VARIANTS = ['qwen2', 'qwen2-window'] as const;

test.after.always(async () => {
  await r.shutdown();
});

test('qwen2: parameter names are Hugging Face\'s: biases on q/k/v, none on o_proj or the MLP; the head tied or not as the config says', (t) => {
  for (const v of VARIANTS) {
    const g = golden(v);
    const model = r.createCausalLM(g.config, { device: cpu });
    t.true(model instanceof r.Qwen2ForCausalLM);
    const names = [...model.namedParameters().keys()];
    for (const p of ['q_proj', 'k_proj', 'v_proj']) t.true(names.includes(`model.layers.0.self_attn.${p}.bias`), `${v} ${p}.bias`);
    t.false(names.some((n) => n.includes('o_proj.bias') || n.includes('mlp') && n.endsWith('.bias')));
    t.is(names.includes('lm_head.weight'), g.config['tie_word_embeddings'] === false, `${v} head`);
    t.deepEqual(model.resolved.layerWindows, (g as unknown as { layer_types: string[] }).layer_types.map((l) => (l === 'sliding_attention' ? 3 : 0)), `${v} windows`);
    model.dispose();
  }
});

test('qwen2: layer windows as transformers\' code assigns them: use_sliding_window, then max_window_layers, layer_types first', (t) => {
  const base = { vocab_size: 8, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 4, num_attention_heads: 2, sliding_window: 5, max_window_layers: 2 };
  t.deepEqual(r.resolveQwen2Config(base).layerWindows, [0, 0, 0, 0], 'use_sliding_window absent: no window (real configs carry sliding_window regardless)');
  t.deepEqual(r.resolveQwen2Config({ ...base, use_sliding_window: true }).layerWindows, [0, 0, 5, 5], 'layers ≥ max_window_layers slide');
  t.deepEqual(r.resolveQwen2Config({ ...base, use_sliding_window: true, layer_types: ['sliding_attention', 'full_attention', 'full_attention', 'sliding_attention'] }).layerWindows, [5, 0, 0, 5]);
  t.throws(() => r.resolveQwen2Config({ ...base, layer_types: ['full_attention'] }), { message: /Qwen2Config: layer_types must list one type per layer \(4\)/ });
});

for (const v of VARIANTS) {
  test(`${v}: cpu float64 and float32 logits and sequence log-probs match the torch transcription`, async (t) => {
    await checkLogits(t, golden(v), cpu, 'float64');
    await checkLogits(t, golden(v), cpu, 'float32');
  });
  test(`${v}: webgpu float32 logits and sequence log-probs match the torch transcription`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return t.pass();
    await checkLogits(t, golden(v), gpu, 'float32');
  });
  test(`${v}: float64 gradients of the sequence log-probs match torch autograd`, (t) => checkGradients(t, golden(v)));
  test(`${v}: greedy generation, cached and uncached, gives the transcription's tokens`, async (t) => {
    await checkGreedy(t, golden(v), cpu, 'float64');
    const gpu = await gpuOrSkip(t);
    if (gpu) await checkGreedy(t, golden(v), gpu, 'float32');
  });
}

test('qwen2: each switch matters (the golden test would catch its absence)', async (t) => {
  await checkSwitchesMatter(t, golden('qwen2'), {
    'ignoring use_sliding_window: false': (c) => { c.layerWindows = [0, 3]; },
  });
  await checkSwitchesMatter(t, golden('qwen2-window'), {
    'the window of layer 1': (c) => { c.layerWindows = [0, 0]; },
  });
});

test('qwen2: loaded from a folder by its model_type, saved and loaded back', (t) => checkSaveLoad(t, golden('qwen2-window'), 'Qwen2ForCausalLM'));

test('qwen2: LoRA on every projection merges into the weights', (t) => checkLoraMerge(t, golden('qwen2-window')));

test('qwen2: an NF4 base with LoRA on every projection (biased q/k/v too)', (t) => checkNf4(t, golden('qwen2'), cpu));

test('qwen2: RPO trains it, full and LoRA', (t) => checkRpoTraining(t, { ...golden('qwen2').config, hidden_size: 16, intermediate_size: 24, num_attention_heads: 2, num_key_value_heads: 1 }));
