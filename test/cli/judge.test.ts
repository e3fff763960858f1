// relpo generate --data and relpo judge, end to end: a checkpoint from relpo train, its completions
// of the toy dataset's prompts, and a judge behind a scripted OpenAI-compatible endpoint on
// localhost. The commands run as child processes without blocking this process (the endpoint
// lives here).
import test from 'ava';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { candidateFirst } from '../../src/eval/judge.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
function relpo(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, RELPO_JUDGE_API_KEY: 'sk-local' } }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('relpo generate --data completes the prompts (resumably) and relpo judge turns them into a win rate (resumably)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-cli-judge-'));
  const train = await relpo('train', '--device', 'cpu', '--steps', '1', '--out', join(dir, 'run'));
  t.is(train.status, 0, train.stderr);
  const model = join(dir, 'run', 'checkpoint');
  const comps = join(dir, 'completions.jsonl');
  const gen = (limit: string) => relpo('generate', '--device', 'cpu', '--model', model, '--data', 'examples/toy-preferences.jsonl', '--limit', limit, '--max-new-tokens', '2', '--save-every', '2', '--out', comps);
  const first = await gen('3');
  t.is(first.status, 0, first.stderr);
  t.regex(first.stdout, /completions\.jsonl: 3 completions/);
  const more = await gen('5');
  t.is(more.status, 0, more.stderr);
  t.regex(more.stderr, /5 prompts of .*toy-preferences\.jsonl \(3 already in /);
  const lines = readFileSync(comps, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: number; prompt: string; completion: string; reference: string });
  t.deepEqual(lines.map((l) => l.id), [0, 1, 2, 3, 4]);
  t.is(lines[0].prompt, 'What is the capital of France?');
  t.is(lines[0].reference, 'The capital of France is Paris.');

  // The judge always picks response 1, so the candidate wins exactly where it was shown first.
  let requests = 0;
  let auth = '';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests++;
      auth = String(req.headers.authorization);
      const prompt = (JSON.parse(body) as { messages: { content: string }[] }).messages[0].content;
      t.regex(prompt, /^Here is a conversation between <\|user\|> and <\|assistant\|>\./);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { content: '1' } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  const out = join(dir, 'verdicts.jsonl');
  const judge = (model: string) => relpo('judge', '--completions', comps, '--judge-url', url, '--judge-model', model, '--out', out, '--seed', '7');
  const run = await judge('always-one');
  t.is(run.status, 0, run.stderr);
  t.is(requests, 5);
  t.is(auth, 'Bearer sk-local');
  const wins = [0, 1, 2, 3, 4].filter((id) => candidateFirst(7, id)).length;
  t.regex(run.stdout, new RegExp(`win rate ${((100 * wins) / 5).toFixed(1)}% \\(95% CI [\\d.]+-[\\d.]+%\\): ${wins} wins, ${5 - wins} losses, 0 ties over 5 judged`));
  const summary = JSON.parse(readFileSync(`${out}.summary.json`, 'utf8')) as { wins: number; judged: number; template: string };
  t.like(summary, { wins, judged: 5, template: 'dialogue' });
  // Run again: every comparison is in --out already, nothing is asked.
  const again = await judge('always-one');
  t.is(again.status, 0, again.stderr);
  t.is(requests, 5);
  // Another judge into the same file is refused, naming both.
  const other = await judge('another');
  t.is(other.status, 1);
  t.regex(other.stderr, /holds verdicts of always-one @ .* this run asks another @ .*: pass another --out/);
  server.close();

  // A local checkpoint as the judge (this tiny random one answers gibberish: unreadable verdicts,
  // said plainly, nothing thrown).
  const localOut = join(dir, 'local-verdicts.jsonl');
  const local = await relpo('judge', '--completions', comps, '--judge-local', model, '--device', 'cpu', '--out', localOut);
  // Nothing judged is a failure (exit 1, said on stderr); otherwise the win rate.
  if (/no readable verdict/.test(local.stderr)) {
    t.is(local.status, 1);
    t.regex(local.stderr, /relpo judge: no readable verdict: all 5 replies were unreadable/);
  } else {
    t.is(local.status, 0, local.stderr);
    t.regex(local.stdout, /win rate .* over \d+ judged/);
  }
  t.is(readFileSync(localOut, 'utf8').trim().split('\n').length, 5);

  // A line cut short (a run killed mid-write) is an error naming the file and line.
  appendFileSync(comps, '{"id": 5, "prompt": "Wh');
  const cut = await gen('6');
  t.is(cut.status, 1);
  t.regex(cut.stderr, /completions\.jsonl:6: not a JSON line/);
  t.true(existsSync(comps));
});

test('relpo judge without a judge endpoint says what it needs', async (t) => {
  const run = await relpo('judge', '--judge-model', 'x');
  t.is(run.status, 1);
  t.regex(run.stderr, /--judge-url and --judge-model are required/);
});
