import test from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { assertClose, cpu, gpuOrSkip, values } from '../helpers/devices.js';

// The golden tiny BERT of test/models/golden (make_bert_golden.py: plain torch transcription of
// transformers' BertModel + sentence-transformers' mean pooling and Normalize).
const GOLDEN_DIR = new URL('../../../test/models/golden/', import.meta.url).pathname;
const GOLDEN = JSON.parse(readFileSync(join(GOLDEN_DIR, 'bert.json'), 'utf8')) as {
  config: Record<string, unknown>;
  sentences: string[];
  ids: number[];
  lengths: number[];
  shape: [number, number, number];
  hidden_float32: number[];
  hidden_float64: number[];
  embeddings_float32: number[];
  embeddings_float64: number[];
};
const [B, T, HID] = GOLDEN.shape;

/** A checkpoint folder; `st` adds sentence-transformers' files (modules.json, pooling config, max length). */
function folder(opts: { config?: Record<string, unknown>; st?: { pooling?: string; normalize?: boolean; maxSeqLength?: number } } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-bert-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(opts.config ?? GOLDEN.config));
  copyFileSync(join(GOLDEN_DIR, 'bert.safetensors'), join(dir, 'model.safetensors'));
  copyFileSync(join(GOLDEN_DIR, 'bert-tokenizer.json'), join(dir, 'tokenizer.json'));
  if (opts.st) {
    const modules = [
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      ...(opts.st.normalize === false ? [] : [{ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' }]),
    ];
    writeFileSync(join(dir, 'modules.json'), JSON.stringify(modules));
    mkdirSync(join(dir, '1_Pooling'));
    const mode = opts.st.pooling ?? 'mean_tokens';
    writeFileSync(join(dir, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: HID, [`pooling_mode_${mode}`]: true, pooling_mode_cls_token: mode === 'cls_token' }));
    if (opts.st.maxSeqLength) writeFileSync(join(dir, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: opts.st.maxSeqLength, do_lower_case: false }));
  }
  return dir;
}

/** Values at real (unpadded) token positions of a [B, T, HID] array. */
const valid = (v: ArrayLike<number>) => Array.from(v).filter((_, i) => Math.floor(i / HID) % T < GOLDEN.lengths[Math.floor(i / (T * HID))]);

test('BertModel: float64 on the cpu gives the golden hidden states and sentence embeddings to 1e-9', async (t) => {
  const model = await r.loadPretrainedBert(folder(), { device: cpu, dtype: 'float64' });
  const ids = r.tensor(GOLDEN.ids, [B, T], { device: cpu, dtype: 'int32' });
  const lengths = r.tensor(GOLDEN.lengths, [B], { device: cpu, dtype: 'int32' });
  const [h, e] = r.tidy(() => {
    const hidden = model.forward(ids, { keyPadding: lengths });
    return [hidden, r.l2Normalize(r.meanPool(hidden, lengths))];
  });
  assertClose(t, valid(await values(h)), valid(GOLDEN.hidden_float64), { rtol: 1e-9, atol: 1e-10 }, 'hidden');
  assertClose(t, await values(e), GOLDEN.embeddings_float64, { rtol: 1e-9, atol: 1e-11 }, 'embeddings');
  model.dispose();
});

test('BertModel: float32 on both devices matches the float32 golden', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const model = await r.loadPretrainedBert(folder(), { device });
    const ids = r.tensor(GOLDEN.ids, [B, T], { device, dtype: 'int32' });
    const lengths = r.tensor(GOLDEN.lengths, [B], { device, dtype: 'int32' });
    const hidden = await values(r.tidy(() => model.forward(ids, { keyPadding: lengths })));
    assertClose(t, valid(hidden), valid(GOLDEN.hidden_float32), { rtol: 1e-4, atol: 2e-5 }, `hidden on ${device.kind}`);
    // The pooler exists (the checkpoint has one) and is tanh(dense(h[:, 0])).
    const pooled = await values(r.tidy(() => model.pool(model.forward(ids, { keyPadding: lengths }))));
    t.is(pooled.length, B * HID);
    t.true(pooled.every((v) => Math.abs(v) <= 1));
    model.dispose();
  }
});

test('loadSentenceEmbedder: a sentence-transformers folder embeds texts as the golden (tokenizer, mean pooling, normalize)', async (t) => {
  const gpu = await gpuOrSkip(t);
  for (const device of gpu ? [cpu, gpu] : [cpu]) {
    const embedder = await r.loadSentenceEmbedder(folder({ st: { maxSeqLength: 16 } }), { device });
    t.is(embedder.maxLength, 16);
    t.is(embedder.pooling, 'mean');
    t.true(embedder.normalize);
    t.deepEqual(await embedder.tokenize(GOLDEN.sentences[0]), GOLDEN.ids.slice(0, GOLDEN.lengths[0]));
    t.deepEqual(await embedder.tokenize(GOLDEN.sentences[1]), GOLDEN.ids.slice(T, T + GOLDEN.lengths[1]));
    // Two batches of one text each, concatenated: the same as one batch of two.
    for (const batchSize of [1, 32]) {
      const small = new r.SentenceEmbedder(embedder.model, embedder.tokenizer, { batchSize, maxLength: 16 });
      const e = await small.encode(GOLDEN.sentences);
      t.deepEqual(e.shape, [B, HID]);
      assertClose(t, await values(e), GOLDEN.embeddings_float32, { rtol: 1e-4, atol: 1e-5 }, `embeddings on ${device.kind}, batch ${batchSize}`);
      e.dispose();
    }
    const none = await embedder.encode([]);
    t.deepEqual(none.shape, [0, HID]);
    embedder.dispose();
  }
});

test('loadSentenceEmbedder from files in memory (a page\'s): the folder\'s setup and embeddings, the pooling folder\'s file named by source', async (t) => {
  const dir = folder({ st: { pooling: 'cls_token', normalize: false, maxSeqLength: 16 } });
  const files = new Map<string, Uint8Array>();
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'modules.json', 'sentence_bert_config.json', '1_Pooling/config.json']) files.set(f, readFileSync(join(dir, f)));
  const [fromFolder, fromMemory] = [await r.loadSentenceEmbedder(dir, { device: cpu }), await r.loadSentenceEmbedder(r.memorySource(files, 'picked'), { device: cpu })];
  t.like(fromMemory, { maxLength: 16, pooling: 'cls', normalize: false });
  const [a, b] = [await fromFolder.encode(GOLDEN.sentences), await fromMemory.encode(GOLDEN.sentences)];
  t.deepEqual(await values(b), await values(a));
  for (const x of [a, b, fromFolder, fromMemory]) x.dispose();
  files.set('1_Pooling/config.json', new TextEncoder().encode(JSON.stringify({ pooling_mode_max_tokens: true })));
  await t.throwsAsync(r.loadSentenceEmbedder(r.memorySource(files, 'picked'), { device: cpu }), { message: /^picked\/1_Pooling\/config\.json: pooling \["max_tokens"\] is not supported/ });
});

test('SentenceEmbedder: long texts are cut to maxLength keeping [SEP]; cls pooling and no normalization follow the folder', async (t) => {
  const embedder = await r.loadSentenceEmbedder(folder(), { device: cpu, maxLength: 5 });
  t.deepEqual(await embedder.tokenize('The cat sat on the mat.'), [2, 5, 6, 7, 3]);
  t.throws(() => new r.SentenceEmbedder(embedder.model, embedder.tokenizer, { maxLength: 33 }), { message: /maxLength must be an integer from 2 to the model's 32 positions/ });
  embedder.dispose();

  const cls = await r.loadSentenceEmbedder(folder({ st: { pooling: 'cls_token', normalize: false } }), { device: cpu, dtype: 'float64' });
  t.is(cls.pooling, 'cls');
  t.false(cls.normalize);
  const e = await values(await cls.encode([GOLDEN.sentences[0]]));
  // The [CLS] state of row 0 in the golden hidden states, unnormalized.
  assertClose(t, e, GOLDEN.hidden_float64.slice(0, HID), { rtol: 1e-9, atol: 1e-11 }, 'cls');
  cls.dispose();

  await t.throwsAsync(r.loadSentenceEmbedder(folder({ st: { pooling: 'max_tokens' } }), { device: cpu }), { message: /1_Pooling[/\\]config\.json: pooling \["max_tokens"\] is not supported/ });
});

test('loadPretrainedBert: "bert." prefixes, gamma/beta and position_ids load; wrong types and missing tensors are named', async (t) => {
  // Rewrite the golden weights the way BertForMaskedLM / TF-era checkpoints name them.
  const weights = await r.loadSafetensors(join(GOLDEN_DIR, 'bert.safetensors'), { device: cpu });
  const renamed = new Map<string, r.Tensor>();
  for (const [n, w] of weights) renamed.set(`bert.${n.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')}`, w);
  renamed.set('bert.embeddings.position_ids', r.tensor(Array.from({ length: 32 }, (_, i) => i), [1, 32], { device: cpu, dtype: 'int32' }));
  renamed.set('cls.predictions.bias', r.zeros([24], { device: cpu }));
  const dir = folder();
  await r.saveSafetensors(join(dir, 'model.safetensors'), renamed);
  const model = await r.loadPretrainedBert(dir, { device: cpu, dtype: 'float64' });
  const ids = r.tensor(GOLDEN.ids, [B, T], { device: cpu, dtype: 'int32' });
  const lengths = r.tensor(GOLDEN.lengths, [B], { device: cpu, dtype: 'int32' });
  const hidden = await values(r.tidy(() => model.forward(ids, { keyPadding: lengths })));
  assertClose(t, valid(hidden), valid(GOLDEN.hidden_float64), { rtol: 1e-9, atol: 1e-10 }, 'renamed checkpoint');
  model.dispose();
  for (const w of renamed.values()) w.dispose();

  await t.throwsAsync(r.loadPretrainedBert(folder({ config: { ...GOLDEN.config, model_type: 'roberta' } }), { device: cpu }), { message: /config\.json: model_type "roberta" is not one BertModel implements/ });
  await t.throwsAsync(r.loadPretrainedBert(folder({ config: { ...GOLDEN.config, hidden_act: 'relu' } }), { device: cpu }), { message: /config\.json: .*hidden_act "relu" is not supported/ });
  await t.throwsAsync(r.loadPretrainedBert(folder({ config: { ...GOLDEN.config, num_hidden_layers: 3 } }), { device: cpu }), { message: /encoder\.layer\.2\./ });
  t.throws(() => model.forward(r.zeros([1, 33], { device: cpu, dtype: 'int32' })), { message: /33 tokens, but the model has 32 positions/ });
});

test.after.always(async () => {
  await r.shutdown();
});
