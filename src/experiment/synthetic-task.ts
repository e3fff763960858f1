// The miniature's preference task, whose truth is known so its judge is exact. A prompt is a family
// word and two item words ("f3 x5 x9"); a good answer is three answer words: the first set by a key,
// the second and third by the items (a word per item). Each position also has a decoy, a wrong word
// that noisy answers give more often than the right one, so supervised fine-tuning on the chosen
// answers learns decoys where the preferences (chosen against rejected) say otherwise. In the
// 'signal' task the key of the first word is the family, so prompts that share their family word
// (and are close in any embedding of their words) share what makes an answer good, as RPO assumes;
// in the 'control' task it is (3i + j) mod F, which no single word of the prompt carries, so prompt
// similarity says nothing about it. Preference pairs are two noisy answers ranked by the oracle.
import { mulberry32 } from '../autograd/random.js';

export type TaskKind = 'signal' | 'control';

export interface SyntheticTaskOptions {
  kind: TaskKind;
  /** Family words f0 … (default 8). */
  families?: number;
  /** Item words x0 … (default 12). */
  items?: number;
  /** Answer words a0 … (default 16). */
  answerWords?: number;
  /** Preference pairs to train on, one per distinct prompt (default 384). */
  trainPrompts?: number;
  /** Held-out prompts, judged and evaluated (default 64). */
  evalPrompts?: number;
  /** How often a candidate answer's word is the right one (default 0.1). */
  quality?: number;
  /** How often it is the position's decoy (default 0.7; else a random answer word). */
  decoy?: number;
  /** Seeds the prompts, the rule and the candidates (default 0). */
  seed?: number;
}

export interface TaskPair {
  prompt: string;
  chosen: string;
  rejected: string;
}

export interface SyntheticTask {
  kind: TaskKind;
  options: Required<SyntheticTaskOptions>;
  train: TaskPair[];
  eval: TaskPair[];
  /** The words of the vocabulary after the special tokens <pad> <s> </s> <unk>. */
  words: string[];
  /** The oracle: an answer's score for a prompt (higher is better; 3 is a perfect answer). */
  score(prompt: string, answer: string): number;
  /** The perfect answer to a prompt. */
  best(prompt: string): string;
  /** The answer of decoys only. */
  decoys(prompt: string): string;
}

const ANSWER_LENGTH = 3;

export function syntheticTask(o: SyntheticTaskOptions): SyntheticTask {
  const opts: Required<SyntheticTaskOptions> = {
    kind: o.kind, families: o.families ?? 8, items: o.items ?? 12, answerWords: o.answerWords ?? 16,
    trainPrompts: o.trainPrompts ?? 384, evalPrompts: o.evalPrompts ?? 64, quality: o.quality ?? 0.1, decoy: o.decoy ?? 0.7, seed: o.seed ?? 0,
  };
  const { kind, families: F, items: I, answerWords: A, quality, decoy } = opts;
  if (kind !== 'signal' && kind !== 'control') throw new Error(`syntheticTask: kind must be 'signal' or 'control', got '${String(kind)}'`);
  for (const [k, v] of Object.entries({ families: F, items: I, answerWords: A, trainPrompts: opts.trainPrompts, evalPrompts: opts.evalPrompts })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`syntheticTask: ${k} must be a positive integer, got ${v}`);
  }
  if (!(quality > 0 && decoy >= 0 && quality + decoy <= 1)) throw new Error(`syntheticTask: quality (${quality}) and decoy (${decoy}) must be ≥ 0 (quality > 0) with a sum ≤ 1`);
  if (A < 2) throw new Error(`syntheticTask: answerWords must be at least 2 (a right word and a decoy), got ${A}`);
  if (opts.trainPrompts + opts.evalPrompts > F * I * I) throw new Error(`syntheticTask: ${opts.trainPrompts + opts.evalPrompts} prompts asked for, but only ${F * I * I} exist (families · items²)`);
  const rand = mulberry32(opts.seed * 7919 + (kind === 'signal' ? 1 : 2));
  const pick = (n: number) => Math.floor(rand() * n);
  // Per key (a family, or a (3i + j) mod F group) the first word's right word and decoy; per item
  // the right word and decoy of the positions it sets.
  const pair = (): [number, number] => {
    const right = pick(A);
    return [right, (right + 1 + pick(A - 1)) % A];
  };
  const keyWords = Array.from({ length: F }, pair);
  const itemWords = Array.from({ length: I }, pair);
  const parse = (prompt: string): [number, number, number] => {
    const m = /^f(\d+) x(\d+) x(\d+)$/.exec(prompt.trim());
    if (!m) throw new Error(`synthetic task: '${prompt}' is not one of its prompts ("f<k> x<i> x<j>")`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  };
  /** [right, decoy] of each position. */
  const slots = (prompt: string): [number, number][] => {
    const [f, i, j] = parse(prompt);
    return [keyWords[kind === 'signal' ? f : (3 * i + j) % F], itemWords[i], itemWords[j]];
  };
  const right = (prompt: string) => slots(prompt).map(([w]) => w);
  const best = (prompt: string) => right(prompt).map((w) => ` a${w}`).join('');
  const score = (prompt: string, answer: string): number => {
    const want = right(prompt);
    const given = answer.trim().split(/\s+/).filter((w) => w.length > 0);
    const hits = want.filter((w, p) => given[p] === `a${w}`).length;
    return hits - 0.5 * Math.abs(given.length - ANSWER_LENGTH);
  };
  const candidate = (prompt: string) => slots(prompt).map(([w, d]) => {
    const u = rand();
    return ` a${u < quality ? w : u < quality + decoy ? d : pick(A)}`;
  }).join('');
  const pairFor = (prompt: string): TaskPair => {
    for (;;) {
      const [a, b] = [candidate(prompt), candidate(prompt)];
      const [sa, sb] = [score(prompt, a), score(prompt, b)];
      if (sa !== sb) return sa > sb ? { prompt, chosen: a, rejected: b } : { prompt, chosen: b, rejected: a };
    }
  };
  // Distinct prompts, train and eval disjoint.
  const all = Array.from({ length: F * I * I }, (_, n) => n);
  for (let n = all.length - 1; n > 0; n--) {
    const m = pick(n + 1);
    [all[n], all[m]] = [all[m], all[n]];
  }
  const promptOf = (n: number) => `f${Math.floor(n / (I * I))} x${Math.floor(n / I) % I} x${n % I}`;
  const train = all.slice(0, opts.trainPrompts).map((n) => pairFor(promptOf(n)));
  const evalPairs = all.slice(opts.trainPrompts, opts.trainPrompts + opts.evalPrompts).map((n) => pairFor(promptOf(n)));
  const vocabulary = [
    ...Array.from({ length: F }, (_, k) => `f${k}`), ...Array.from({ length: I }, (_, k) => `x${k}`), ...Array.from({ length: A }, (_, k) => `a${k}`),
  ];
  const decoys = (prompt: string) => slots(prompt).map(([, d]) => ` a${d}`).join('');
  return { kind, options: opts, train, eval: evalPairs, words: vocabulary, score, best, decoys };
}

/** A word-level tokenizer.json (Hugging Face's format) over the task's words, with <pad>, <s>, </s>, <unk>. */
export function taskTokenizerJson(task: SyntheticTask): string {
  const specials = ['<pad>', '<s>', '</s>', '<unk>'];
  const vocab = Object.fromEntries([...specials, ...task.words].map((w, id) => [w, id]));
  const added = specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return JSON.stringify({
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  }, null, 1);
}
