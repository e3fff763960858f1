// `relpo judge`: win rate of a completions file (from `relpo generate --data`) against the
// dataset's preferred answers or against another completions file, by a judge model behind an
// OpenAI-compatible chat endpoint, with the RPO paper's pairwise prompts (Appendix G). Verdicts are
// appended to --out as they come, so a stopped run resumes; the summary goes to stdout and beside
// --out as JSON. Under mpirun each rank judges a part of each round; rank 0 alone writes and prints.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as r from '../index.js';
import type { FlagSpec, Flags } from './args.js';
import { readJsonlLines } from './jsonl-out.js';
import { ProgressBar } from '../io/progress.js';

export const JUDGE_FLAGS: FlagSpec[] = [
  { name: 'completions', help: 'the candidate completions (relpo generate --data --out)', default: 'runs/relpo-generate/completions.jsonl' },
  { name: 'baseline', help: "another completions file to compare against (empty: each line's reference, the dataset's preferred answer)", default: '' },
  { name: 'judge-url', help: 'base URL of an OpenAI-compatible API (e.g. https://api.openai.com/v1, http://localhost:8000/v1)', default: '' },
  { name: 'judge-model', help: 'the judge model (the paper: gpt-4-0613)', default: '' },
  { name: 'judge-local', help: 'instead of an API: a local chat checkpoint folder (LLaMA/Mistral with its tokenizer) that relpo runs as the judge, greedily', default: '' },
  { name: 'device', help: 'with --judge-local: webgpu, cpu or auto (RELPO_DEVICE)', default: '', check: { choices: ['', 'webgpu', 'cpu', 'auto'] } },
  { name: 'template', help: 'dialogue or summarization (the paper\'s two prompts)', default: 'dialogue' },
  { name: 'out', help: 'verdicts JSONL (appended to; comparisons already in it are skipped); the summary goes to <out>.summary.json', default: 'runs/relpo-judge/verdicts.jsonl' },
  { name: 'seed', help: 'seeds which response each comparison shows first', default: 0 },
  { name: 'concurrency', help: 'requests in flight', default: 4 },
];

type Line = r.CompletionRecord;

export async function runJudge(flags: Flags): Promise<void> {
  const url = String(flags['judge-url']), model = String(flags['judge-model']), local = String(flags['judge-local']);
  if (!local && (!url || !model)) throw new Error('relpo judge: --judge-url and --judge-model are required (an OpenAI-compatible chat endpoint; the key comes from RELPO_JUDGE_API_KEY or OPENAI_API_KEY), or --judge-local with a chat checkpoint folder');
  const name = String(flags.template);
  if (!(name in r.JUDGE_TEMPLATES)) throw new Error(`relpo judge: --template must be one of ${Object.keys(r.JUDGE_TEMPLATES).join(', ')}, got '${name}'`);
  const comm = r.communicatorFromEnv();
  const writer = comm.rank === 0;
  const tell = writer ? (text: string) => process.stderr.write(text) : () => true;
  const file = String(flags.completions);
  const candidates = readJsonlLines<Line>(file);
  if (candidates.length === 0) throw new Error(`relpo judge: no completions in ${file} (make them with relpo generate --data)`);
  const against = flags.baseline ? new Map(readJsonlLines<Line>(String(flags.baseline)).map((x) => [x.id, x.completion])) : null;
  const items: r.Comparison[] = [];
  const skipped: string[] = [];
  for (const c of candidates) {
    const baseline = against ? against.get(c.id) : c.reference;
    if (typeof baseline !== 'string') {
      skipped.push(String(c.id));
      continue;
    }
    items.push({ id: c.id, history: r.historyText(c.prompt), candidate: c.completion, baseline });
  }
  if (skipped.length) tell(`relpo judge: ${skipped.length} prompt(s) have nothing to compare against (${against ? `not in ${String(flags.baseline)}` : 'no preferred answer in the dataset'}): ids ${skipped.slice(0, 10).join(', ')}${skipped.length > 10 ? ', …' : ''}\n`);

  const judge = local ? await localJudgeFrom(local, flags, !writer) : r.openAIChatJudge({ url, model, apiKey: process.env.RELPO_JUDGE_API_KEY ?? process.env.OPENAI_API_KEY });
  const out = String(flags.out);
  const previous = readJsonlLines<r.JudgedComparison & { template?: string }>(out);
  for (const p of previous) {
    if (p.judge !== judge.name || p.template !== name) {
      throw new Error(`relpo judge: ${out} holds verdicts of ${p.judge} with the ${p.template} prompt; this run asks ${judge.name} with the ${name} prompt: pass another --out`);
    }
  }
  const done = new Map(previous.map((p) => [p.id, p]));
  const todo = items.filter((c) => !done.has(c.id));
  if (writer) mkdirSync(dirname(out) || '.', { recursive: true });
  const bar = writer ? new ProgressBar(todo.length, 'judge') : undefined;
  let n = 0;
  bar?.update(0);
  await r.judgeComparisons(todo, judge, {
    template: r.JUDGE_TEMPLATES[name as r.JudgeTemplateName],
    seed: Number(flags.seed),
    concurrency: Number(flags.concurrency),
    communicator: comm,
    onResult: (v) => {
      if (writer) appendFileSync(out, JSON.stringify({ ...v, template: name }) + '\n');
      done.set(v.id, v);
      bar?.update(++n);
    },
  });
  const verdicts = items.map((c) => done.get(c.id)!.verdict);
  const w = r.winRate(verdicts);
  if (!writer) return;
  const summary = { completions: file, baseline: flags.baseline || 'dataset references', judge: judge.name, template: name, ...w };
  writeFileSync(`${out}.summary.json`, JSON.stringify(summary, null, 2) + '\n');
  const pct = (x: number) => (100 * x).toFixed(1);
  if (w.judged === 0) {
    // Nothing was judged: a failure, not a result (a script must not read a win rate from it).
    process.stderr.write(`relpo judge: no readable verdict: all ${w.unparsed} replies were unreadable (see ${out}); is the judge a chat model that follows instructions?\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`win rate ${pct(w.rate)}% (95% CI ${pct(w.low)}-${pct(w.high)}%): ${w.wins} wins, ${w.losses} losses, ${w.ties} ties over ${w.judged} judged${w.unparsed ? `; ${w.unparsed} replies unreadable (see ${out})` : ''}\n`);
  process.stdout.write(`wrote ${out} (verdicts) and ${out}.summary.json\n`);
}

/** A local checkpoint (with its own tokenizer.json) loaded as the judge. */
async function localJudgeFrom(dir: string, flags: Flags, quiet: boolean): Promise<r.Judge> {
  const device = await r.init({ ...(flags.device ? { device: flags.device as r.DeviceChoice } : {}), quiet });
  const tokenizer = await r.loadTokenizer(dir);
  const model = await r.loadPretrainedCausalLM(dir, { device });
  return r.localJudge(model, tokenizer, { name: `local ${dir}` });
}
