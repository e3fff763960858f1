// Pairwise judging for win rates, as the RPO paper evaluates (Appendix G): a judge model is shown a
// conversation and two responses in random order and names the better one. The judge is anything
// that answers a prompt with text; `openAIChatJudge` talks to any OpenAI-compatible chat endpoint
// (OpenAI, vLLM, llama.cpp's server, ...), temperature 0; `localJudge` runs a local chat checkpoint.
// Under several ranks the comparisons are judged in rounds, each rank a part of each round.
import type { Verdict } from './win-rate.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { generateText } from './generate.js';
import { judgePrompt } from './judge-prompts.js';
import type { Communicator } from '../distributed/index.js';
import { allGatherJson, partOf, together } from '../train/data-parallel.js';

export interface Judge {
  /** The judge's reply to one prompt. */
  ask(prompt: string): Promise<string>;
  /** Says which judge this is (kept with every verdict). */
  readonly name: string;
}

export interface OpenAIJudgeOptions {
  /** The API's base URL, e.g. https://api.openai.com/v1 or http://localhost:8000/v1. */
  url: string;
  model: string;
  /** Sent as a Bearer token when given. */
  apiKey?: string;
  /** Tokens the judge may answer with (default 16: the answer is one digit). */
  maxTokens?: number;
  /** Attempts per prompt on 429, 5xx and network errors (default 6). */
  attempts?: number;
  /** First back-off in ms, doubled per retry; a Retry-After header wins (default 1000). */
  backoffMs?: number;
  /** Per-request timeout in ms (default 120000). */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A judge behind an OpenAI-compatible `POST {url}/chat/completions`. */
export function openAIChatJudge(o: OpenAIJudgeOptions): Judge {
  const endpoint = `${o.url.replace(/\/+$/, '')}/chat/completions`;
  const attempts = o.attempts ?? 6, backoff = o.backoffMs ?? 1000;
  return {
    name: `${o.model} @ ${o.url}`,
    async ask(prompt: string): Promise<string> {
      const body = JSON.stringify({ model: o.model, messages: [{ role: 'user', content: prompt }], temperature: 0, max_tokens: o.maxTokens ?? 16 });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
      let last = '';
      for (let attempt = 1; attempt <= attempts; attempt++) {
        let wait = backoff * 2 ** (attempt - 1);
        try {
          const res = await fetch(endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(o.timeoutMs ?? 120000) });
          const text = await res.text();
          if (res.ok) {
            let content: unknown;
            try {
              content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
            } catch {
              throw new Error(`judge ${endpoint}: the reply is not JSON: ${text.slice(0, 200)}`);
            }
            if (typeof content !== 'string') throw new Error(`judge ${endpoint}: the reply has no choices[0].message.content: ${text.slice(0, 200)}`);
            return content;
          }
          last = `HTTP ${res.status}: ${text.slice(0, 300)}`;
          // Rate limits and server errors are worth another try; other refusals are not.
          if (res.status !== 429 && res.status < 500) throw new Error(`judge ${endpoint}: ${last}`);
          const after = Number(res.headers.get('retry-after'));
          if (Number.isFinite(after) && after > 0) wait = after * 1000;
        } catch (e) {
          const err = e as Error;
          if (err.message.startsWith('judge ')) throw err;
          last = `${err.name}: ${err.message}`;
        }
        if (attempt < attempts) await sleep(wait);
      }
      throw new Error(`judge ${endpoint}: gave up after ${attempts} attempts; last: ${last}`);
    },
  };
}

/**
 * Which response the reply names: 1, 2, 'tie', or null. Accepts "1", "Response 2", "**2**",
 * "Summary 1." and sentences naming exactly one of them; a reply that is "tie" (a judge allowed to
 * call one, as the synthetic task's oracle) is a tie; a reply naming both or neither is unreadable.
 */
export function parseVerdict(reply: string): 1 | 2 | 'tie' | null {
  if (/^[\s*"'`([]*tie\b/i.test(reply)) return 'tie';
  const lead = /^[\s*"'`([]*(?:(?:response|summary)\s*)?([12])(?![0-9]|\.[0-9])/i.exec(reply);
  if (lead) return Number(lead[1]) as 1 | 2;
  const named = new Set([...reply.matchAll(/(?<![0-9.])([12])(?![0-9.]*[0-9])/g)].map((m) => m[1]));
  return named.size === 1 ? (Number([...named][0]) as 1 | 2) : null;
}

/** Whether the candidate is shown as response 1 for this comparison: a coin flip fixed by seed and id. */
export function candidateFirst(seed: number, id: string | number): boolean {
  // FNV-1a over "seed:id": stable across runs and machines, so a resumed run shows the same order.
  let h = 0x811c9dc5;
  for (const ch of `${seed}:${id}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return (h & 1) === 1;
}

export interface Comparison {
  id: string | number;
  /** The conversation or post, as the judge reads it (historyText). */
  history: string;
  /** The response being rated (e.g. the policy's completion). */
  candidate: string;
  /** What it is rated against (e.g. the dataset's chosen response, or another model's completion). */
  baseline: string;
}

export interface JudgedComparison {
  id: string | number;
  candidateFirst: boolean;
  reply: string;
  verdict: Verdict;
  judge: string;
}

export interface JudgeComparisonsOptions {
  /** The prompt template (JUDGE_TEMPLATES.dialogue or .summarization, or your own with the same placeholders). */
  template: string;
  /** Seeds the order of each pair (default 0). */
  seed?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Called once per new verdict, in completion order (to save it, or move a progress bar). */
  onResult?: (r: JudgedComparison) => void | Promise<void>;
  /**
   * Several ranks: the comparisons go in rounds of ranks × concurrency, each rank judging a
   * contiguous part of a round; after each round every rank gets its verdicts (onResult in input order).
   */
  communicator?: Communicator;
}

/** Judges each comparison once, in random order per pair; returns the verdicts in input order. */
export async function judgeComparisons(items: Comparison[], judge: Judge, o: JudgeComparisonsOptions): Promise<JudgedComparison[]> {
  const comm = o.communicator;
  if (!comm || comm.size === 1) return judgeHere(items, judge, o);
  const out: JudgedComparison[] = [];
  const round = comm.size * Math.max(1, o.concurrency ?? 4);
  for (let start = 0; start < items.length; start += round) {
    const chunk = items.slice(start, start + round);
    const { from, to } = partOf(comm, chunk.length);
    const mine = await together(comm, `in round ${start / round + 1}`, () => judgeHere(chunk.slice(from, to), judge, { ...o, onResult: undefined }), 'judgeComparisons');
    const all = allGatherJson(comm, mine).flat();
    out.push(...all);
    for (const v of all) await o.onResult?.(v);
  }
  return out;
}

async function judgeHere(items: Comparison[], judge: Judge, o: JudgeComparisonsOptions): Promise<JudgedComparison[]> {
  const seed = o.seed ?? 0;
  const out: JudgedComparison[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const c = items[i];
      const first = candidateFirst(seed, c.id);
      const [r1, r2] = first ? [c.candidate, c.baseline] : [c.baseline, c.candidate];
      const reply = await judge.ask(judgePrompt(o.template, c.history, r1, r2));
      const picked = parseVerdict(reply);
      const verdict: Verdict = picked === null ? 'unparsed' : picked === 'tie' ? 'tie' : (picked === 1) === first ? 'win' : 'loss';
      out[i] = { id: c.id, candidateFirst: first, reply, verdict, judge: judge.name };
      await o.onResult?.(out[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, items.length)) }, worker));
  return out;
}

export interface LocalJudgeOptions {
  /** Tokens the judge may answer with (default 8: the answer is a digit or two words). */
  maxNewTokens?: number;
  /** Says which model this is, in the verdicts (default 'local model'). */
  name?: string;
}

/**
 * A judge that is a local chat model run by relpo (e.g. an instruct LLaMA/Mistral checkpoint):
 * the prompt as one user turn through the tokenizer's chat template (plain text when it has none),
 * answered greedily. Offline and deterministic, for when no judge API is at hand.
 */
export function localJudge(model: CausalLM, tokenizer: TextTokenizer, o: LocalJudgeOptions = {}): Judge {
  return {
    name: o.name ?? 'local model',
    async ask(prompt: string): Promise<string> {
      const text = tokenizer.chatTemplate ? tokenizer.chatTemplate.render([{ role: 'user', content: prompt }], { addGenerationPrompt: true }) : prompt;
      const [reply] = await generateText(model, tokenizer, [text], { maxNewTokens: o.maxNewTokens ?? 8 });
      return reply;
    },
  };
}
