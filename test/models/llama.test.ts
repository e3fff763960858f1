import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import * as r from '../../src/index.js';
import type { Device, Tensor } from '../../src/index.js';
import { LlamaForCausalLM, type LlamaConfig } from '../../src/models/index.js';
import { Linear, Module, RMSNorm, Embedding } from '../../src/nn/index.js';
import { assertClose, cpu, gpuOrSkip, values } from '../helpers/devices.js';
import { TINY_LLAMA } from '../helpers/frozen-weights.js';

/** Written by test/models/golden/make_llama_golden.py (a plain-torch transcription of transformers' LlamaForCausalLM). */
const WEIGHTS = new URL('../../../test/models/golden/llama.safetensors', import.meta.url).pathname;
const GOLDEN = JSON.parse(readFileSync(new URL('../../../test/models/golden/llama.json', import.meta.url).pathname, 'utf8')) as {
  config: LlamaConfig;
  ids: number[];
  lengths: number[];
  targets: number[];
  shape: [number, number, number];
  mistral_sliding_window: number;
  variants: Record<'llama' | 'mistral', {
    logits_float32: number[];
    logits_float64: number[];
    loss_float64?: number;
    grads_float64?: Record<string, number[]>;
  }>;
};
const [B, T, V] = GOLDEN.shape;

test.after.always(async () => {
  await r.shutdown();
});

const configOf = (variant: 'llama' | 'mistral'): LlamaConfig =>
  variant === 'llama' ? GOLDEN.config : { ...GOLDEN.config, model_type: 'mistral', sliding_window: GOLDEN.mistral_sliding_window };

async function goldenModel(variant: 'llama' | 'mistral', device: Device, dtype: 'float32' | 'float64'): Promise<LlamaForCausalLM> {
  const model = new LlamaForCausalLM(configOf(variant), { device, dtype, seed: 7 });
  const weights = await r.loadSafetensors(WEIGHTS, { device, dtype });
  try {
    const res = model.loadStateDict(weights);
    if (res.missing.length + res.unexpected.length > 0) throw new Error('strict load reported names');
  } finally {
    for (const w of weights.values()) w.dispose();
  }
  return model;
}

function inputs(device: Device) {
  return {
    ids: r.tensor(Int32Array.from(GOLDEN.ids), [B, T], { device, dtype: 'int32' }),
    lengths: r.tensor(Int32Array.from(GOLDEN.lengths), [B], { device, dtype: 'int32' }),
    targets: r.tensor(Int32Array.from(GOLDEN.targets), [B, T], { device, dtype: 'int32' }),
    mask: r.tensor(Float32Array.from({ length: B * T }, (_, i) => (i % T < GOLDEN.lengths[Math.floor(i / T)] ? 1 : 0)), [B, T], { device }),
  };
}

/** The logits at valid (unpadded) positions only. */
function validRows(flat: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let t = 0; t < GOLDEN.lengths[b]; t++) for (let v = 0; v < V; v++) out.push(flat[(b * T + t) * V + v]);
  return out;
}

async function checkLogits(t: ExecutionContext, variant: 'llama' | 'mistral', device: Device, dtype: 'float32' | 'float64') {
  const model = await goldenModel(variant, device, dtype);
  const { ids, lengths } = inputs(device);
  const logits = r.noGrad(() => r.tidy(() => model.forward(ids, { keyPadding: lengths })));
  t.deepEqual([...logits.shape], [B, T, V]);
  t.is(logits.dtype, dtype);
  const expected = GOLDEN.variants[variant][dtype === 'float64' ? 'logits_float64' : 'logits_float32'];
  const tol = dtype === 'float64' ? { rtol: 1e-10, atol: 1e-12 } : { rtol: 1e-4, atol: 2e-5 };
  assertClose(t, validRows(await logits.data()), validRows(expected), tol, `${variant} ${device.kind} ${dtype} logits`);
  logits.dispose();
  ids.dispose();
  lengths.dispose();
  model.dispose();
}

const tiny: LlamaConfig = {
  vocab_size: 11, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 2,
  num_key_value_heads: 1, rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 32, tie_word_embeddings: false,
};

test('parameter names and shapes are Hugging Face’s', (t) => {
  const model = new LlamaForCausalLM(GOLDEN.config, { device: cpu });
  const layer = (i: number) => [
    [`model.layers.${i}.self_attn.q_proj.weight`, [32, 32]],
    [`model.layers.${i}.self_attn.k_proj.weight`, [16, 32]],
    [`model.layers.${i}.self_attn.v_proj.weight`, [16, 32]],
    [`model.layers.${i}.self_attn.o_proj.weight`, [32, 32]],
    [`model.layers.${i}.mlp.gate_proj.weight`, [48, 32]],
    [`model.layers.${i}.mlp.up_proj.weight`, [48, 32]],
    [`model.layers.${i}.mlp.down_proj.weight`, [32, 48]],
    [`model.layers.${i}.input_layernorm.weight`, [32]],
    [`model.layers.${i}.post_attention_layernorm.weight`, [32]],
  ];
  const expected = [['model.embed_tokens.weight', [61, 32]], ...layer(0), ...layer(1), ['model.norm.weight', [32]], ['lm_head.weight', [61, 32]]];
  const got = [...model.namedParameters()].map(([n, p]) => [n, [...p.shape]]);
  t.deepEqual(got, expected);
  t.true(model.parameters().every((p) => p.requiresGrad && p.isKept));
  t.is(model.stateDict().get('model.norm.weight')!.name, 'model.norm.weight');
  model.dispose();
  t.true(got.length > 0);

  const tied = new LlamaForCausalLM({ ...tiny, tie_word_embeddings: true }, { device: cpu });
  t.false(tied.namedParameters().has('lm_head.weight'));
  t.is(tied.lm_head, null);
  tied.dispose();
});

test('random init is seeded', async (t) => {
  const a = new LlamaForCausalLM(tiny, { device: cpu, seed: 3 });
  const b = new LlamaForCausalLM(tiny, { device: cpu, seed: 3 });
  const c = new LlamaForCausalLM(tiny, { device: cpu, seed: 4 });
  const w = (m: LlamaForCausalLM) => values(m.stateDict().get('model.layers.1.mlp.up_proj.weight')!);
  t.deepEqual(await w(a), await w(b));
  t.notDeepEqual(await w(a), await w(c));
  for (const m of [a, b, c]) m.dispose();
});

test('config errors name the field', (t) => {
  t.throws(() => new LlamaForCausalLM({ ...tiny, num_key_value_heads: 3 }, { device: cpu }), { message: /num_attention_heads \(2\) must be a multiple of num_key_value_heads \(3\)/ });
  t.throws(() => new LlamaForCausalLM({ ...tiny, hidden_act: 'gelu' }, { device: cpu }), { message: /hidden_act 'gelu'/ });
  t.throws(() => new LlamaForCausalLM({ ...tiny, vocab_size: 0 }, { device: cpu }), { message: /vocab_size must be a positive integer/ });
});

test('loadStateDict checks names and shapes, and changes nothing on error', async (t) => {
  const model = new LlamaForCausalLM(tiny, { device: cpu, seed: 1 });
  const source = new LlamaForCausalLM(tiny, { device: cpu, seed: 2 });
  const sd = new Map(source.stateDict());
  const before = await values(model.stateDict().get('model.norm.weight')!);

  const wrong = r.zeros([12, 9], { device: cpu });
  const bad = new Map(sd);
  bad.set('model.layers.0.mlp.up_proj.weight', wrong);
  t.throws(() => model.loadStateDict(bad), { message: /'model\.layers\.0\.mlp\.up_proj\.weight': the model's parameter is \[12, 8\], the state dict's tensor is \[12, 9\]/ });

  const partial = new Map(sd);
  partial.delete('lm_head.weight');
  partial.set('extra.weight', wrong);
  t.throws(() => model.loadStateDict(partial), { message: /missing 1: 'lm_head\.weight'; unexpected 1: 'extra\.weight'/ });
  t.deepEqual(await values(model.stateDict().get('model.norm.weight')!), before, 'nothing loaded after an error');

  const res = model.loadStateDict(partial, { strict: false });
  t.deepEqual(res, { missing: ['lm_head.weight'], unexpected: ['extra.weight'] });
  const loaded = model.stateDict().get('model.layers.1.self_attn.o_proj.weight')!;
  t.deepEqual(await values(loaded), await values(sd.get('model.layers.1.self_attn.o_proj.weight')!));
  t.true(loaded.requiresGrad && loaded.isKept);
  t.not(loaded, sd.get('model.layers.1.self_attn.o_proj.weight'), 'the model holds a copy');
  t.is(model.model.layers.items[1].self_attn.o_proj.weight, loaded, 'the layer sees the loaded tensor');

  // Old checkpoints' rotary_emb.inv_freq buffers are ignored.
  const withInvFreq = new Map(sd);
  withInvFreq.set('model.layers.0.self_attn.rotary_emb.inv_freq', r.zeros([2], { device: cpu }));
  t.deepEqual(model.loadStateDict(withInvFreq), { missing: [], unexpected: [] });

  wrong.dispose();
  withInvFreq.get('model.layers.0.self_attn.rotary_emb.inv_freq')!.dispose();
  source.dispose();
  model.dispose();
});

test('Linear, Embedding, RMSNorm', async (t) => {
  const lin = new Linear(3, 2, { device: cpu, bias: true, seed: 5 });
  t.deepEqual([...lin.namedParameters().keys()], ['weight', 'bias']);
  lin.loadStateDict({ weight: r.tensor([[1, 2, 3], [4, 5, 6]], undefined, { device: cpu }), bias: r.tensor([0.5, -1], undefined, { device: cpu }) });
  const y = lin.forward(r.tensor([[1, 0, -1], [2, 1, 0]], undefined, { device: cpu }));
  t.deepEqual(await values(y), [-2 + 0.5, -2 - 1, 4 + 0.5, 13 - 1]);
  const emb = new Embedding(4, 2, { device: cpu });
  t.deepEqual([...emb.forward(r.tensor(Int32Array.from([3, 0]), [2], { device: cpu, dtype: 'int32' })).shape], [2, 2]);
  const norm = new RMSNorm(2, 1e-6, { device: cpu });
  assertClose(t, await values(norm.forward(r.tensor([[3, 4]], undefined, { device: cpu }))), [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)]);
  t.true(lin instanceof Module);
  for (const m of [lin, emb, norm]) m.dispose();
  t.true(lin.weight.isDisposed);
});

for (const variant of ['llama', 'mistral'] as const) {
  test(`${variant}: cpu float64 logits match the torch transcription (~1e-9)`, (t) => checkLogits(t, variant, cpu, 'float64'));
  test(`${variant}: cpu float32 logits match the torch transcription`, (t) => checkLogits(t, variant, cpu, 'float32'));
  test(`${variant}: webgpu float32 logits match the torch transcription`, async (t) => {
    const gpu = await gpuOrSkip(t);
    if (!gpu) return t.pass();
    await checkLogits(t, variant, gpu, 'float32');
  });
}

test('llama: cpu float64 loss gradient matches torch autograd', async (t) => {
  const model = await goldenModel('llama', cpu, 'float64');
  const { ids, lengths, targets, mask } = inputs(cpu);
  // backward() inside the tidy: disposing the intermediates would cut the graph.
  const loss = r.tidy(() => {
    const l = r.sum(r.tokenLogprobs(model.forward(ids, { keyPadding: lengths }), targets, r.cast(mask, 'float64')));
    l.backward();
    return l;
  });
  const g = GOLDEN.variants.llama;
  assertClose(t, [await loss.item()], [g.loss_float64!], { rtol: 1e-9, atol: 0 }, 'loss');
  const params = model.stateDict();
  for (const [name, expected] of Object.entries(g.grads_float64!)) {
    assertClose(t, await values(params.get(name)!.grad!), expected, { rtol: 1e-8, atol: 1e-10 }, `d loss / d ${name}`);
  }
  loss.dispose();
  model.dispose();
});

async function backwardSmoke(t: ExecutionContext, device: Device, tied = false) {
  const model = new LlamaForCausalLM({ ...tiny, sliding_window: 3, tie_word_embeddings: tied }, { device, seed: 11, initStd: 0.3 });
  const ids = r.tensor(Int32Array.from([1, 5, 9, 2, 0, 3, 4, 10, 7, 6]), [2, 5], { device, dtype: 'int32' });
  const targets = r.tensor(Int32Array.from([5, 9, 2, 3, 0, 4, 10, 7, 6, 1]), [2, 5], { device, dtype: 'int32' });
  const lengths = r.tensor(Int32Array.from([4, 5]), [2], { device, dtype: 'int32' });
  const loss = r.tidy(() => {
    const l = r.sum(r.tokenLogprobs(model.forward(ids, { keyPadding: lengths }), targets));
    l.backward();
    return l;
  });
  for (const [name, p] of model.namedParameters()) {
    t.truthy(p.grad, `${name} has a gradient`);
    t.deepEqual([...p.grad!.shape], [...p.shape], `${name} grad shape`);
    const g = await values(p.grad!);
    t.true(g.every(Number.isFinite), `${name} grad is finite`);
    t.true(g.some((v) => v !== 0), `${name} grad is not all zero`);
  }
  model.zeroGrad();
  t.true(model.parameters().every((p) => p.grad === null));
  for (const x of [loss, ids, targets, lengths]) x.dispose();
  model.dispose();
}

test('backward reaches every parameter (cpu)', (t) => backwardSmoke(t, cpu));
test('backward reaches every parameter, tied embeddings (cpu)', (t) => backwardSmoke(t, cpu, true));
test('backward reaches every parameter (webgpu)', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return t.pass();
  await backwardSmoke(t, gpu);
});

test('forward inside tidy frees everything but the logits; dispose frees the parameters', async (t) => {
  const model = new LlamaForCausalLM(tiny, { device: cpu });
  const ids = r.tensor(Int32Array.from([1, 2, 3]), [1, 3], { device: cpu, dtype: 'int32' });
  const run = () => r.noGrad(() => r.tidy(() => model.forward(ids)));
  const first = run();
  const again = run();
  t.deepEqual(await values(first), await values(again));
  t.true(model.parameters().every((p) => !p.isDisposed));
  const params: Tensor[] = model.parameters();
  model.dispose();
  t.true(params.every((p) => p.isDisposed));
  for (const x of [first, again, ids]) x.dispose();
});

test('logitsAt: the logits of one position per row, as the full forward gives them there, tied and untied heads; bad positions are named', async (t) => {
  for (const tie of [false, true]) {
    const model = new LlamaForCausalLM({ ...tiny, tie_word_embeddings: tie }, { device: cpu, dtype: 'float64', seed: 3 });
    const ids = r.tensor(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 4], { device: cpu, dtype: 'int32' });
    const full = await values(r.noGrad(() => model.forward(ids)));
    const at = [2, 0];
    const some = r.noGrad(() => model.forward(ids, { logitsAt: at }));
    t.deepEqual([...some.shape], [2, 1, tiny.vocab_size]);
    const V = tiny.vocab_size;
    const want = at.flatMap((p, b) => Array.from(full.slice((b * 4 + p) * V, (b * 4 + p + 1) * V)));
    t.deepEqual(Array.from(await values(some)), want, `tied ${tie}`);
    t.throws(() => model.forward(ids, { logitsAt: [4, 0] }), { message: /logitsAt must give one position in 0\.\.3 per row \(2 rows\), got \[4,0\]/ });
    model.dispose();
  }
});

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

test('without a graph, each residual add is one kernel with the norm after it, across layers too; both RoPEs one launch', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu || !gpu.canProfile) return t.pass();
  const model = new r.LlamaForCausalLM(TINY_LLAMA, { device: gpu, seed: 3 });
  const ids = r.tensor(Int32Array.from({ length: 10 }, (_, i) => (i * 7) % 48), [2, 5], { device: gpu, dtype: 'int32' });
  const { result, kernels } = await gpu.profile(() => r.noGrad(() => model.forward(ids)));
  const names = kernels.map((k) => k.name);
  t.is(count(names, 'addRmsNorm'), 4, 'after attention in both layers, the second layer\'s input norm, the final norm');
  t.is(count(names, 'rmsNorm'), 1, 'the first layer\'s input norm');
  t.is(count(names, 'add'), 0);
  t.deepEqual([count(names, 'applyRopePair'), count(names, 'applyRope')], [2, 0], 'queries and keys rotated in one launch per layer');
  // The same logits as with the graph recorded (the separate ops).
  t.deepEqual(await values(result), await values(model.forward(ids)));
});

test('a decoding step launches 8 kernels per layer (RoPE and the cache write one, the gate and up projections and SwiGLU one) and 3 more', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu || !gpu.canProfile) return t.pass();
  // Hidden size 64: wide enough for the grouped projections (q/k/v one launch, gate/up/SwiGLU one).
  const model = new r.LlamaForCausalLM({ ...TINY_LLAMA, hidden_size: 64, intermediate_size: 96 }, { device: gpu, seed: 3 });
  const L = TINY_LLAMA.num_hidden_layers;
  const prompts = r.tensor(Int32Array.from({ length: 10 }, (_, i) => (i * 7) % 48), [2, 5], { device: gpu, dtype: 'int32' });
  const next = r.tensor(Int32Array.from([3, 9]), [2, 1], { device: gpu, dtype: 'int32' });
  const cache = model.newCache([5, 3], 4);
  r.noGrad(() => model.forward(prompts, { cache }));
  const { result, kernels } = await gpu.profile(() => r.noGrad(() => model.forward(next, { cache })));
  const names = kernels.map((k) => k.name);
  t.is(names.length, 8 * L + 3, names.join(', '));
  t.deepEqual([count(names, 'rotateAndCache'), count(names, 'decodeAttention v0'), count(names, 'addRmsNorm'), count(names, 'rmsNorm')], [L, L, 2 * L, 1]);
  t.is(count(names, 'matmul skinny float32 Bᵀ gated'), L);
  t.deepEqual([count(names, 'applyRopePair'), count(names, 'cacheWrite'), count(names, 'add'), count(names, 'swiglu')], [0, 0, 0, 0]);
  // Its logits against the uncached forward: test/eval/generate.test.ts; the fused kernels against
  // the ops they replace, bit for bit: the decode and norm kernel tests.
  result.dispose();
  cache.dispose();
});
