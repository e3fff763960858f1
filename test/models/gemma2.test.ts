import test from 'ava';
import { readFileSync } from 'node:fs';
import * as r from '../../src/index.js';
import { assertClose, cpu, gpuOrSkip } from '../helpers/devices.js';
import {
  type ArchGolden, checkGradients, checkGreedy, checkLoraMerge, checkLogits, checkNf4, checkRpoTraining, checkSaveLoad, checkSwitchesMatter,
} from '../helpers/arch-golden.js';

/** Written by test/models/golden/make_gemma2_golden.py (a plain-torch transcription of transformers' Gemma2ForCausalLM, eager attention). */
const G = JSON.parse(readFileSync(new URL('../../../test/models/golden/gemma2.json', import.meta.url).pathname, 'utf8')) as Omit<ArchGolden, 'safetensors'> & { layer_types: string[] };
const golden: ArchGolden = { ...G, safetensors: ['gemma2.safetensors'] };

test.after.always(async () => {
  await r.shutdown();
});

test('gemma2: Hugging Face\'s names (four norms per layer, tied head); the config read as transformers reads it', (t) => {
  const model = r.createCausalLM(golden.config, { device: cpu });
  t.true(model instanceof r.Gemma2ForCausalLM);
  const names = [...model.namedParameters().keys()];
  for (const n of ['input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm']) t.true(names.includes(`model.layers.0.${n}.weight`), n);
  t.false(names.includes('lm_head.weight'), 'tie_word_embeddings defaults to true (real Gemma-2 configs omit it)');
  const c = model.resolved;
  t.deepEqual(c.layerWindows, G.layer_types.map((l) => (l === 'sliding_attention' ? 3 : 0)), 'layers 0, 2, … slide');
  t.is(c.attentionScale, 12 ** -0.5, 'query_pre_attn_scalar^-½, not head_dim^-½');
  t.deepEqual([c.attnSoftcap, c.finalSoftcap, c.activation, c.scaleEmbeddings, c.headDim], [2.5, 3, 'gelu_tanh', true, 8]);
  model.dispose();
  // Defaults of transformers' Gemma2Config; layer_types first; what is not supported is named.
  const d = r.resolveGemma2Config({ vocab_size: 8, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 2, num_attention_heads: 2, head_dim: 4 });
  t.deepEqual([d.attnSoftcap, d.finalSoftcap, d.attentionScale, d.layerWindows, d.tieWordEmbeddings], [50, 30, 1 / 16, [4096, 0], true]);
  t.deepEqual(r.resolveGemma2Config({ ...golden.config, layer_types: ['full_attention', 'sliding_attention', 'sliding_attention'] } as r.Gemma2Config).layerWindows, [0, 3, 3]);
  t.is(r.resolveGemma2Config({ ...golden.config, attn_logit_softcapping: null } as r.Gemma2Config).attnSoftcap, 0);
  t.throws(() => r.resolveGemma2Config({ ...golden.config, hidden_activation: 'relu' } as r.Gemma2Config), { message: /Gemma2Config: hidden_activation 'relu' is not supported/ });
});

test('gemma2: cpu float64 and float32 logits and sequence log-probs match the torch transcription', async (t) => {
  await checkLogits(t, golden, cpu, 'float64');
  await checkLogits(t, golden, cpu, 'float32');
});

test('gemma2: webgpu float32 logits and sequence log-probs match the torch transcription', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return t.pass();
  await checkLogits(t, golden, gpu, 'float32');
});

test('gemma2: float64 gradients (through both soft-caps, the (1 + w) norms, GeGLU, the scaled and tied embeddings) match torch autograd', (t) => checkGradients(t, golden));

test('gemma2: each switch matters (the golden test would catch its absence)', (t) => checkSwitchesMatter(t, golden, {
  'attention soft-capping': (c) => { c.attnSoftcap = 0; },
  'final soft-capping': (c) => { c.finalSoftcap = 0; },
  'query_pre_attn_scalar': (c) => { c.attentionScale = c.headDim ** -0.5; },
  'embedding scaling': (c) => { c.scaleEmbeddings = false; },
  'the sliding window': (c) => { c.layerWindows = c.layerWindows.map(() => 0); },
  'GeGLU (SiLU instead)': (c) => { c.activation = 'silu'; },
}));

test('gemma2: greedy generation, cached and uncached, gives the transcription\'s tokens', async (t) => {
  await checkGreedy(t, golden, cpu, 'float64');
  const gpu = await gpuOrSkip(t);
  if (gpu) await checkGreedy(t, golden, gpu, 'float32');
});

test('gemma2: a decoding step adds no (1 + w) of its own: the offset is in the 4 norms per layer and the final one', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu || !gpu.canProfile) return t.pass();
  const model = r.createCausalLM(golden.config, { device: gpu, seed: 3 });
  const L = golden.config.num_hidden_layers as number;
  const prompts = r.tensor(Int32Array.from({ length: 10 }, (_, i) => (i * 7) % 48), [2, 5], { device: gpu, dtype: 'int32' });
  const next = r.tensor(Int32Array.from([3, 9]), [2, 1], { device: gpu, dtype: 'int32' });
  const cache = model.newCache([5, 3], 4);
  r.noGrad(() => model.forward(prompts, { cache }));
  const { kernels } = await gpu.profile(() => r.noGrad(() => model.forward(next, { cache })));
  const count = (name: string) => kernels.filter((k) => k.name === name).length;
  // Residual adds go into addRmsNorm; the weights' 1 + w into the norm kernels (an add each, 4L + 1, before).
  t.is(count('add'), 0, kernels.map((k) => k.name).join(', '));
  t.is(count('rmsNorm') + count('addRmsNorm'), 4 * L + 1);
  model.dispose();
});

test('gemma2: loaded from a folder by its model_type, saved and loaded back', (t) => checkSaveLoad(t, golden, 'Gemma2ForCausalLM'));

test('gemma2: LoRA on every projection merges into the weights', (t) => checkLoraMerge(t, golden));

test('gemma2: an NF4 base with LoRA on every projection', (t) => checkNf4(t, golden, cpu));

test('gemma2: RPO trains it, full and LoRA', (t) => checkRpoTraining(t, { ...golden.config, hidden_size: 16, intermediate_size: 24, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8 }));

test('gemma2 at head_dim 256 (real Gemma-2\'s) on webgpu: logits, gradients and cached decoding as the cpu float64 model computes them', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return t.pass();
  const config = { ...golden.config, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 256, query_pre_attn_scalar: 256, attn_logit_softcapping: 1.5 };
  const [B, T] = [2, 9];
  const idsHost = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 48);
  const run = async (device: r.Device, dtype: 'float32' | 'float64') => {
    const model = r.createCausalLM(config, { device, dtype, seed: 4, initStd: 0.2 });
    const ids = r.tensor(idsHost, [B, T], { device, dtype: 'int32' });
    const lengths = r.tensor(Int32Array.from([T, 6]), [B], { device, dtype: 'int32' });
    const loss = r.tidy(() => {
      const l = r.sum(r.mul(model.forward(ids, { keyPadding: lengths }), model.forward(ids, { keyPadding: lengths })));
      l.backward();
      return l;
    });
    const logits = await r.noGrad(() => r.tidy(() => model.forward(ids, { keyPadding: lengths }))).data();
    const grad = await model.namedParameters().get('model.layers.0.self_attn.q_proj.weight')!.grad!.data();
    const tokens = await r.generateIds(model, [Array.from(idsHost.slice(0, 5)), Array.from(idsHost.slice(T, T + 3))], { maxNewTokens: 4, stopIds: [] });
    const uncached = await r.generateIds(model, [Array.from(idsHost.slice(0, 5)), Array.from(idsHost.slice(T, T + 3))], { maxNewTokens: 4, stopIds: [], cache: false });
    for (const x of [loss, ids, lengths]) x.dispose();
    model.dispose();
    // Valid positions only (row 1 is padded past 6).
    const valid = Array.from(logits).filter((_, i) => Math.floor(i / 48) % T < (Math.floor(i / (48 * T)) === 0 ? T : 6));
    return { valid, grad: Array.from(grad), tokens, uncached };
  };
  const want = await run(cpu, 'float64');
  const got = await run(gpu, 'float32');
  assertClose(t, got.valid, want.valid, { rtol: 1e-4, atol: 1e-4 }, 'logits');
  const gmax = Math.max(...want.grad.map(Math.abs));
  assertClose(t, got.grad, want.grad, { rtol: 1e-3, atol: 1e-4 * gmax }, 'd/d q_proj');
  t.deepEqual(got.tokens, want.tokens, 'greedy tokens, cached');
  t.deepEqual(got.uncached, want.tokens, 'greedy tokens, uncached');
});
