// The synthetic task's oracle as a Judge, like the LLM judges: it reads the prompt that
// judgeComparisons builds from ORACLE_TEMPLATE, scores both responses exactly, and answers "1", "2"
// or "tie" (judgeComparisons counts a tie as half a win, as AlpacaEval does).
import type { Judge } from '../eval/judge.js';

/** The judge prompt the oracle reads: the conversation and the two responses, each on its own marked line. */
export const ORACLE_TEMPLATE = 'prompt: {history}\nresponse 1: {response1}\nresponse 2: {response2}';

export function oracleJudge(score: (prompt: string, answer: string) => number, name = 'oracle'): Judge {
  return {
    name,
    async ask(prompt: string): Promise<string> {
      const m = /^prompt: (.*)\nresponse 1: (.*)\nresponse 2: (.*)$/s.exec(prompt);
      if (!m) throw new Error(`${name}: the judge prompt is not ORACLE_TEMPLATE's (judge with template ORACLE_TEMPLATE): ${prompt.slice(0, 120)}`);
      const [s1, s2] = [score(m[1], m[2]), score(m[1], m[3])];
      return s1 === s2 ? 'tie' : s1 > s2 ? '1' : '2';
    },
  };
}
