// Evaluation: text generation (greedy and sampled) from the policy, completions of a dataset's
// prompts, and pairwise judging for win rates.
import '../models/index.js';
export { generateIds, generateText, pickToken, type GenerateOptions } from './generate.js';
export { generateDatasetCompletions, referenceAnswers, completionText, type CompletionRecord, type DatasetCompletionOptions } from './completions.js';
export { openAIChatJudge, localJudge, parseVerdict, candidateFirst, judgeComparisons, type Judge, type OpenAIJudgeOptions, type LocalJudgeOptions, type Comparison, type JudgedComparison, type JudgeComparisonsOptions } from './judge.js';
export { JUDGE_TEMPLATES, judgePrompt, historyText, type JudgeTemplateName } from './judge-prompts.js';
export { winRate, wilsonInterval, type WinRate, type Verdict } from './win-rate.js';
