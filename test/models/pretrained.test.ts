import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { assertClose, cpu, gpuOrSkip, values } from '../helpers/devices.js';

// The golden tiny LLaMA of test/models/golden (written by make_llama_golden.py from plain torch).
const WEIGHTS = new URL('../../../test/models/golden/llama.safetensors', import.meta.url).pathname;
const GOLDEN = JSON.parse(readFileSync(new URL('../../../test/models/golden/llama.json', import.meta.url).pathname, 'utf8')) as {
  config: Record<string, unknown>;
  ids: number[];
  lengths: number[];
  shape: [number, number, number];
  variants: { llama: { logits_float32: number[] } };
};

function folder(config: Record<string, unknown> = GOLDEN.config): string {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-llama-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  copyFileSync(WEIGHTS, join(dir, 'model.safetensors'));
  return dir;
}

test('loadPretrainedLlama: a checkpoint folder gives the golden logits on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  const [B, T, V] = GOLDEN.shape;
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const model = await r.loadPretrainedLlama(folder(), { device });
    const ids = r.tensor(GOLDEN.ids, [B, T], { device, dtype: 'int32' });
    const lengths = r.tensor(GOLDEN.lengths, [B], { device, dtype: 'int32' });
    const logits = await values(r.tidy(() => model.forward(ids, { keyPadding: lengths })));
    // Compare valid positions only: logits at right-padded positions are meaningless.
    const valid = (v: ArrayLike<number>) => Array.from(v).filter((_, i) => Math.floor(i / V) % T < GOLDEN.lengths[Math.floor(i / (T * V))]);
    assertClose(t, valid(logits), valid(GOLDEN.variants.llama.logits_float32), { rtol: 1e-4, atol: 2e-5 }, `logits on ${device.kind}`);
    model.dispose();
  }
});

// Serial: it counts live buffers, which the other test would change concurrently.
test.serial('loadPretrainedCausalLM: a foreign architecture, a bad config and a missing tensor are clear errors, leaving nothing allocated', async (t) => {
  const foreign = await t.throwsAsync(r.loadPretrainedCausalLM(folder({ ...GOLDEN.config, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }), { device: cpu }), {
    message: /config\.json: model_type "gpt2" .* is not a registered architecture/,
  });
  // It lists what is registered.
  for (const a of r.listArchitectures()) t.true(foreign!.message.includes(`${a.modelType} (${a.architectures.join(', ')})`), a.modelType);
  await t.throwsAsync(r.loadPretrainedLlama(folder({ ...GOLDEN.config, num_key_value_heads: 3 }), { device: cpu }), { message: /config\.json: .*num_key_value_heads/ });
  const before = cpu.memory().liveBuffers;
  // A checkpoint whose config asks for a third layer the weights do not have.
  const err = await t.throwsAsync(r.loadPretrainedLlama(folder({ ...GOLDEN.config, num_hidden_layers: 3 }), { device: cpu }), { message: /model\.layers\.2\./ });
  t.regex(err!.message, /^\/\S+: its weights do not load into the model its config\.json describes: /, 'the message names the checkpoint folder');
  await t.throwsAsync(r.loadPretrainedLlama(folder({ ...GOLDEN.config, intermediate_size: Number(GOLDEN.config.intermediate_size) + 2 }), { device: cpu, linearStorage: 'nf4' }), {
    message: /^\/\S+: /,
  });
  t.is(cpu.memory().liveBuffers, before);
});

test('savePretrainedLlama: a model built from a bare config (no model_type) saves a folder that loads back', async (t) => {
  const bare = { vocab_size: 11, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 };
  const model = new r.LlamaForCausalLM(bare, { device: cpu, seed: 5 });
  const out = mkdtempSync(join(tmpdir(), 'relpo-bare-'));
  await r.savePretrainedLlama(model, out);
  const config = await r.readCheckpointConfig(out);
  t.deepEqual([config.architectures, config.model_type], [['LlamaForCausalLM'], 'llama']);
  const back = await r.loadPretrainedLlama(out, { device: cpu });
  const ids = r.tensor([[1, 2, 3]], undefined, { device: cpu, dtype: 'int32' });
  t.deepEqual(await values(r.tidy(() => back.forward(ids))), await values(r.tidy(() => model.forward(ids))));
  for (const m of [model, back]) m.dispose();
});

test('savePretrainedLlama writes a folder (sharded past maxShardBytes) that loads back to the same logits', async (t) => {
  const [B, T] = GOLDEN.shape;
  const model = await r.loadPretrainedLlama(folder(), { device: cpu });
  const ids = r.tensor(GOLDEN.ids, [B, T], { device: cpu, dtype: 'int32' });
  const before = await values(r.tidy(() => model.forward(ids)));
  for (const [maxShardBytes, shardCount] of [[30_000, 3], [undefined, 1]] as const) {
    const out = mkdtempSync(join(tmpdir(), 'relpo-saved-'));
    await r.savePretrainedLlama(model, out, { maxShardBytes });
    const index = await r.readCheckpointIndex(out);
    t.is(index.files.length, shardCount);
    t.deepEqual([...index.weightMap.keys()].sort(), [...model.stateDict().keys()].sort());
    t.deepEqual(await r.readCheckpointConfig(out), GOLDEN.config);
    const again = await r.loadPretrainedLlama(out, { device: cpu });
    t.deepEqual(await values(r.tidy(() => again.forward(ids))), before, `${shardCount} shard(s)`);
    again.dispose();
  }
  model.dispose();
});

test.serial('loadPretrainedLlama with linearStorage bfloat16 / nf4 streams the checkpoint in: the model converted after a float load, never the float model in memory', async (t) => {
  // A sharded checkpoint of random weights (shards of at most 64 KiB).
  const cfg = { vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 };
  const dir = mkdtempSync(join(tmpdir(), 'relpo-llama-stream-'));
  const source = new r.LlamaForCausalLM(cfg, { device: cpu, seed: 9 });
  await r.savePretrainedLlama(source, dir, { maxShardBytes: 64 * 1024 });
  const fullBytes = [...source.parameters()].reduce((s, p) => s + 4 * p.size, 0);
  source.dispose();
  const ids = r.tensor(Int32Array.from({ length: 12 }, (_, i) => (i * 5 + 2) % cfg.vocab_size), [2, 6], { device: cpu, dtype: 'int32' });
  for (const storage of ['bfloat16', 'nf4'] as const) {
    const before = cpu.memory().liveBytes;
    cpu.resetPeakMemory();
    const streamed = await r.loadPretrainedLlama(dir, { device: cpu, linearStorage: storage });
    const held = cpu.memory().liveBytes - before;
    const peak = (cpu.memory().peakLiveBytes ?? 0) - before;
    t.true(held < fullBytes, `${storage}: ${held} bytes held against ${fullBytes} in float32`);
    // The peak is the held model plus about one float32 matrix in flight, far below a float load's 2×.
    t.true(peak < held + 0.25 * fullBytes, `${storage}: peak ${peak}, held ${held}, float32 model ${fullBytes}`);
    t.true(streamed.namedModules().every(([, m]) => !(m instanceof r.Linear) || m.storage === storage));
    // Independent path: the float32 load, frozen, then converted in place.
    const converted = await r.loadPretrainedLlama(dir, { device: cpu });
    for (const p of converted.parameters()) p.requiresGrad = false;
    if (storage === 'nf4') r.storeFrozenWeightsInNf4(converted);
    else r.storeFrozenWeightsInBfloat16(converted);
    const [a, b] = [r.noGrad(() => streamed.forward(ids)), r.noGrad(() => converted.forward(ids))];
    t.deepEqual(await values(a), await values(b), `${storage}: the same logits, bit for bit`);
    // LoRA over the streamed base trains: adapters get gradients.
    r.applyLora(streamed, { r: 2, targetModules: ['q_proj', 'down_proj'] });
    const loss = r.tidy(() => {
      const l = r.neg(r.mean(r.tokenLogprobs(streamed.forward(ids), ids)));
      l.backward();
      return l;
    });
    t.true(Number.isFinite(await loss.item()));
    t.true([...streamed.namedParameters()].filter(([n]) => n.includes('lora_A')).every(([, p]) => p.grad !== null));
    for (const x of [a, b, loss]) x.dispose();
    streamed.dispose();
    converted.dispose();
  }
  // A tensor the checkpoint lacks is named before anything is read, and nothing is left allocated.
  const partial = mkdtempSync(join(tmpdir(), 'relpo-llama-partial-'));
  const whole = await r.loadPretrainedLlama(dir, { device: cpu });
  const sd = whole.stateDict();
  sd.delete('model.layers.1.mlp.up_proj.weight');
  await r.saveCheckpoint(partial, sd, JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  whole.dispose();
  const live = cpu.memory().liveBuffers;
  await t.throwsAsync(r.loadPretrainedLlama(partial, { device: cpu, linearStorage: 'nf4' }), { message: /missing 1: 'model\.layers\.1\.mlp\.up_proj\.weight'/ });
  t.is(cpu.memory().liveBuffers, live);
  ids.dispose();
});
