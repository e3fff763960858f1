// Models and LoRA adapters with no file system: a checkpoint (one file or shards) and an adapter
// load from a URL (urlSource over a local HTTP server) and from files in memory (memorySource) to
// the model a folder load gives; adapterFiles are the bytes saveLoraAdapter writes.
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { assertClose, cpu, values } from '../helpers/devices.js';
import { serveFolder } from '../helpers/file-server.js';
import { GOLDEN_LLAMA as GOLDEN, goldenLlamaFolder as goldenFolder } from '../helpers/golden-llama.js';

const [B, T] = GOLDEN.shape;
/** A folder's files as memorySource takes them. */
const filesOf = (dir: string) => new Map(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
const logitsOf = async (m: r.CausalLM) => values(r.tidy(() => m.forward(r.tensor(GOLDEN.ids, [B, T], { device: cpu, dtype: 'int32' }))));

test('loadPretrainedCausalLM from a URL and from memory: the folder load\'s logits, one file or shards, float or streamed bfloat16', async (t) => {
  const single = goldenFolder();
  const sharded = mkdtempSync(join(tmpdir(), 'relpo-src-sharded-'));
  const base = await r.loadPretrainedCausalLM(single, { device: cpu });
  await r.savePretrainedCausalLM(base, sharded, { maxShardBytes: 30_000 });
  t.is((await r.readCheckpointIndex(sharded)).files.length, 3);
  base.dispose();
  for (const dir of [single, sharded]) {
    for (const linearStorage of ['float32', 'bfloat16'] as const) {
      const want = await r.loadPretrainedCausalLM(dir, { device: cpu, linearStorage });
      const expected = await logitsOf(want);
      want.dispose();
      const server = await serveFolder(dir);
      try {
        for (const source of [r.urlSource(server.url), r.memorySource(filesOf(dir), 'picked files')]) {
          const got = await r.loadPretrainedCausalLM(source, { device: cpu, linearStorage });
          t.deepEqual(await logitsOf(got), expected, `${source.name} ${linearStorage}`);
          got.dispose();
        }
      } finally {
        await server.close();
      }
      // Each weights file fetched once, streaming included (tensor by tensor, shard by shard).
      const gets = server.requests.filter((q) => q.startsWith('GET') && q.endsWith('.safetensors'));
      t.deepEqual(gets.sort(), [...new Set(gets)].sort(), `${dir} ${linearStorage}: ${gets.join(', ')}`);
    }
  }
});

test('from a URL, weights are read in Range requests of blockBytes (about the file once, a tensor alone a block or two); a server without ranges is read whole, once', async (t) => {
  const dir = goldenFolder();
  const size = readFileSync(join(dir, 'model.safetensors')).length;
  const want = await r.loadPretrainedCausalLM(dir, { device: cpu });
  const expected = await logitsOf(want);
  const norm = await values(want.stateDict().get('model.norm.weight')!);
  want.dispose();
  const weightsSent = async (ranges: boolean, load: (s: r.FileSource) => Promise<void>) => {
    const server = await serveFolder(dir, { ranges });
    const before = server.sent();
    await load(r.urlSource(server.url, fetch, { blockBytes: 4096 }));
    await server.close();
    const gets = server.requests.filter((q) => q.startsWith('GET /model.safetensors'));
    return { sent: server.sent() - before, gets };
  };
  for (const linearStorage of ['float32', 'bfloat16'] as const) {
    const { sent, gets } = await weightsSent(true, async (source) => {
      const got = await r.loadPretrainedCausalLM(source, { device: cpu, linearStorage });
      if (linearStorage === 'float32') t.deepEqual(await logitsOf(got), expected);
      got.dispose();
    });
    t.true(gets.every((q) => / bytes=\d+-\d+$/.test(q)) && gets.length >= 10, `${linearStorage}: ${gets.join(", ")}`);
    const bodies = sent - readFileSync(join(dir, 'config.json')).length;
    t.true(bodies <= 1.5 * size, `${linearStorage}: ${bodies} bytes sent for a ${size}-byte file`);
    t.log(`${linearStorage}: ${gets.length} range requests, ${bodies} bytes for a ${size}-byte file`);
  }
  const one = await weightsSent(true, async (source) => {
    const m = await r.loadCheckpoint(source, { device: cpu, names: ['model.norm.weight'] });
    t.deepEqual(await values(m.get('model.norm.weight')!), norm);
  });
  t.true(one.sent <= 3 * 4096 && one.sent < size / 4, `one tensor: ${one.sent} bytes sent of ${size}`);
  t.log(`one tensor: ${one.gets.length} range requests, ${one.sent} bytes`);
  const plain = await weightsSent(false, async (source) => {
    const got = await r.loadPretrainedCausalLM(source, { device: cpu });
    t.deepEqual(await logitsOf(got), expected);
    got.dispose();
  });
  t.is(plain.gets.length, 1, plain.gets.join(', '));
});

test('loadPretrainedCausalLM from a source: a missing or bad file is an error naming the source and file', async (t) => {
  const files = filesOf(goldenFolder());
  const without = (name: string) => new Map([...files].filter(([f]) => f !== name));
  await t.throwsAsync(r.loadPretrainedCausalLM(r.memorySource(without('config.json'), 'picked'), { device: cpu }), { message: /^picked\/config\.json: cannot be read \(.*no such file/ });
  await t.throwsAsync(r.loadPretrainedCausalLM(r.memorySource(without('model.safetensors'), 'picked'), { device: cpu }), { message: /picked: holds neither model\.safetensors nor model\.safetensors\.index\.json/ });
  const cut = new Map(files).set('model.safetensors', files.get('model.safetensors')!.subarray(0, 5000));
  await t.throwsAsync(r.loadPretrainedCausalLM(r.memorySource(cut, 'picked'), { device: cpu }), { message: /picked\/model\.safetensors: tensor '.*': data_offsets .* go past the end of the data buffer/ });
  const sharded = mkdtempSync(join(tmpdir(), 'relpo-src-sharded-'));
  const base = await r.loadPretrainedCausalLM(r.memorySource(files), { device: cpu });
  await r.savePretrainedCausalLM(base, sharded, { maxShardBytes: 30_000 });
  base.dispose();
  const server = await serveFolder(sharded);
  const lost = 'model-00002-of-00003.safetensors';
  const partial = r.memorySource(new Map([...filesOf(sharded)].filter(([f]) => f !== lost)), server.url);
  await t.throwsAsync(r.loadPretrainedCausalLM(partial, { device: cpu }), { message: new RegExp(`model\\.safetensors\\.index\\.json: lists shard '${lost}', which is not in http://127\\.0\\.0\\.1`) });
  await server.close();
  await t.throwsAsync(r.loadPretrainedCausalLM(r.urlSource(server.url), { device: cpu }), { message: /^http:\/\/127\.0\.0\.1:\d+\/config\.json: cannot be read \(.*fetch failed/ });
});

test('from a page\'s File (a Blob), weights are sliced: only the header and the wanted tensors are read, never the whole file', async (t) => {
  const dir = goldenFolder();
  const sliced: number[] = [];
  const whole: string[] = [];
  /** A picked File that records what is read of it. */
  class WatchedFile extends Blob {
    constructor(bytes: Uint8Array, readonly fileName: string) {
      super([bytes]);
    }
    override slice(begin?: number, end?: number): Blob {
      sliced.push((end ?? this.size) - (begin ?? 0));
      return super.slice(begin, end);
    }
    override async arrayBuffer(): Promise<ArrayBuffer> {
      whole.push(this.fileName);
      return super.arrayBuffer();
    }
  }
  const files = new Map([...filesOf(dir)].map(([f, b]) => [f, new WatchedFile(b, f)]));
  const source = r.memorySource(files, 'picked files');
  const want = await r.loadPretrainedCausalLM(dir, { device: cpu });
  for (const linearStorage of ['float32', 'bfloat16'] as const) {
    const got = await r.loadPretrainedCausalLM(source, { device: cpu, linearStorage });
    const ref = linearStorage === 'float32' ? want : await r.loadPretrainedCausalLM(dir, { device: cpu, linearStorage });
    t.deepEqual(await logitsOf(got), await logitsOf(ref), linearStorage);
    got.dispose();
  }
  t.deepEqual(whole, ['config.json', 'config.json'], 'config.json is read whole (once a load); model.safetensors never');
  sliced.length = 0;
  const header = await r.readSafetensorsHeader(join(dir, 'model.safetensors'));
  const one = await r.loadCheckpoint(source, { device: cpu, names: ['model.norm.weight'] });
  t.deepEqual(await values(one.get('model.norm.weight')!), await values(want.stateDict().get('model.norm.weight')!));
  // Twice the 8-byte length and the header (the index, then the load), and the tensor's bytes.
  const [begin, end] = header.tensors.get('model.norm.weight')!.dataOffsets;
  t.deepEqual(sliced, [8, header.headerLength, 8, header.headerLength, end - begin]);
  want.dispose();
});

/** Gives every lora_B seeded values (B starts at zero, which would hide mistakes). */
function randomizeB(model: r.CausalLM): void {
  for (const [i, [, l]] of r.loraLayers(model).entries()) {
    const v = Array.from({ length: l.lora_B.weight.size }, (_, k) => Math.sin(7 * i + k) * 0.3);
    const x = r.tensor(v, l.lora_B.weight.shape, { device: cpu, dtype: 'float64' });
    l.lora_B.loadStateDict({ weight: x });
    x.dispose();
  }
}

test('adapterFiles: the bytes saveLoraAdapter and writeAdapterBase write; they load back from memory and from a URL to the same logits', async (t) => {
  const load = () => r.loadPretrainedCausalLM(goldenFolder(), { device: cpu, dtype: 'float64' });
  const model = await load();
  r.applyLora(model, { r: 2, alpha: 4, targetModules: ['q_proj', 'down_proj'] });
  randomizeB(model);
  const want = await logitsOf(model);
  const base = { base_model_name_or_path: 'golden-llama', fingerprint: await r.baseFingerprint(model) };
  const dir = mkdtempSync(join(tmpdir(), 'relpo-adapter-'));
  await r.saveLoraAdapter(model, dir, 'golden-llama');
  await r.writeAdapterBase(dir, base);
  const files = await r.adapterFiles(model, base);
  t.deepEqual([...files.keys()].sort(), readdirSync(dir).sort());
  for (const [name, bytes] of files) t.deepEqual(Buffer.from(bytes), readFileSync(join(dir, name)), name);
  // With only the base's name: no relpo_base.json, the same adapter_config.json.
  const named = await r.adapterFiles(model, 'golden-llama');
  t.deepEqual([...named.keys()].sort(), [r.ADAPTER_CONFIG_FILE, r.ADAPTER_WEIGHTS_FILE]);
  t.deepEqual(named.get(r.ADAPTER_CONFIG_FILE), files.get(r.ADAPTER_CONFIG_FILE));

  const server = await serveFolder(dir);
  try {
    for (const source of [r.memorySource(files, 'stored adapter'), r.urlSource(server.url)]) {
      const fresh = await load();
      await r.checkAdapterBase(fresh, source, 'the golden base', false);
      await r.loadLoraAdapter(fresh, source);
      assertClose(t, await logitsOf(fresh), want, { rtol: 1e-12, atol: 1e-12 }, source.name);
      fresh.dispose();
    }
    // Another base is refused by the record, read from the source.
    const other = await r.loadPretrainedCausalLM(goldenFolder(), { device: cpu, dtype: 'float64' });
    r.tidy(() => other.loadStateDict(new Map([['model.embed_tokens.weight', r.mul(other.embeddingWeight, 2)]]), { strict: false }));
    await t.throwsAsync(r.checkAdapterBase(other, r.urlSource(server.url), 'a doubled base', false), { message: /^http:\/\/127\.0\.0\.1:\d+\/ was trained on the base golden-llama \(fingerprint [0-9a-f]{16}\), but a doubled base is another model/ });
    other.dispose();
  } finally {
    await server.close();
  }
  const broken = new Map(files).set(r.ADAPTER_CONFIG_FILE, new TextEncoder().encode('{"peft_type": "LORA", '));
  await t.throwsAsync(r.loadLoraAdapter(await load(), r.memorySource(broken, 'stored adapter')), { message: /^stored adapter\/adapter_config\.json: is not valid JSON/ });
  model.dispose();
});

test('baseFingerprint (WebCrypto SHA-256) is the node:crypto digest it was: fingerprints recorded before still match', async (t) => {
  const model = await r.loadPretrainedCausalLM(goldenFolder(), { device: cpu });
  const c = model.config;
  const sizes = ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads'].map((k) => c[k] ?? (k === 'num_key_value_heads' ? c.num_attention_heads : null));
  const head = Array.from((await model.embeddingWeight.data()).subarray(0, 64), (v) => Math.fround(v));
  t.is(await r.baseFingerprint(model), createHash('sha256').update(JSON.stringify({ sizes, head })).digest('hex').slice(0, 16));
  model.dispose();
});
