// relpo judge under `mpirun -np 2`: each rank judges a part of each round against a scripted
// OpenAI-compatible endpoint on localhost (in this process), and rank 0 writes one process's
// verdicts and summary, each comparison asked once.
// Skipped without mpirun or the built addon, except under RELPO_REQUIRE_MPI=1 (CI).
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mpiGate, runUnderMpi } from '../helpers/mpi.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();

mpiTest(`mpirun -np 2 relpo judge: 7 comparisons in rounds of 2, the same verdicts and summary as one process, each asked once${note}`, async (t) => {
  if (missing) return t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-judge-'));
  // The judge picks response 1 when the first response is the longer one, else 2; a reply per request.
  const asked: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const prompt = (JSON.parse(body) as { messages: { content: string }[] }).messages[0].content;
      asked.push(prompt);
      const [a, b] = [/Response 1: ([^\n]*)/, /Response 2: ([^\n]*)/].map((re) => re.exec(prompt)?.[1] ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { content: a.length >= b.length ? '1' : '2' } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const comps = join(dir, 'completions.jsonl');
    const lines = Array.from({ length: 7 }, (_, id) => ({ id, prompt: `Question ${id}?`, completion: 'x'.repeat(1 + ((id * 5) % 7)), reference: 'y'.repeat(4) }));
    writeFileSync(comps, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const args = (out: string) => ['judge', '--completions', comps, '--judge-url', url, '--judge-model', 'scripted', '--concurrency', '1', '--seed', '7', '--out', join(dir, out)];
    const env = { ...process.env, RELPO_JUDGE_API_KEY: 'sk-local' };
    const one = await new Promise<string>((resolve, reject) => execFile(process.execPath, [CLI, ...args('one.jsonl')], { env, encoding: 'utf8' }, (e, stdout) => (e ? reject(e) : resolve(stdout))));
    t.is(asked.length, 7);
    const run = await runUnderMpi(2, CLI, args('two.jsonl'), { env, timeoutMs: 120_000 });
    t.is(run.status, 0, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
    t.is(asked.length, 14, 'each comparison asked once across both ranks');
    const byId = (file: string) => readFileSync(join(dir, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).sort((a, b) => a.id - b.id);
    t.deepEqual(byId('two.jsonl'), byId('one.jsonl'));
    t.deepEqual(readFileSync(join(dir, 'two.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).id), [0, 1, 2, 3, 4, 5, 6], 'rank 0 appends each round in input order');
    const summary = (file: string) => JSON.parse(readFileSync(join(dir, `${file}.summary.json`), 'utf8'));
    t.deepEqual(summary('two.jsonl'), summary('one.jsonl'));
    t.true(new Set(byId('one.jsonl').map((v) => v.verdict)).size > 1, 'the verdicts differ');
    t.is(run.stdout, one.replaceAll('one.jsonl', 'two.jsonl'), 'rank 0 alone prints, what one process prints');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
