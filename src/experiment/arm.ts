// One arm of one task at one seed: trained from the task's SFT checkpoint (an ordinary relpo run in
// <task>/<arm>/seed-<s>/, resumed if it was cut short), then its greedy completions of the held-out
// prompts, the judge's verdicts against the references, its reward accuracy and margins on the
// held-out pairs (DPO's rewards at the experiment's β, for every arm alike), and its KL to the SFT
// model. Everything lands in files beside the run; result.json last, which marks the arm done.
import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Device } from '../autograd/device.js';
import type { PairedPreferenceDataset, PreferenceDataset, UnpairedPreferenceDataset } from '../data/jsonl.js';
import { shuffledIndices } from '../data/batches.js';
import { type CausalLM } from '../models/causal-lm.js';
import { loadPretrainedCausalLM } from '../models/pretrained.js';
import { applyLora } from '../nn/lora.js';
import { trainPreference } from '../train/trainer.js';
import { evaluatePreference } from '../train/evaluate.js';
import { findCheckpoint } from '../train/checkpoint.js';
import { getLoss } from '../losses/registry.js';
import { type CompletionRecord, generateDatasetCompletions, promptTokenIds } from '../eval/completions.js';
import { type JudgedComparison, judgeComparisons } from '../eval/judge.js';
import { historyText } from '../eval/judge-prompts.js';
import type { ArmConfig, ExperimentConfig } from './config.js';
import type { PreparedTask } from './task-setup.js';
import { sampledKl } from './kl.js';
import type { PromptEmbedder } from '../train/prompt-embeddings.js';

export interface ArmResult {
  task: string;
  arm: string;
  seed: number;
  /** The SFT checkpoint the arm started from (the same for every arm of a task). */
  start: string;
  /** Optimizer steps taken, and the seconds the training took (this process's share when resumed). */
  steps: number;
  trainSeconds: number;
  finalLoss: number | null;
  /** On the held-out pairs, DPO's rewards at the experiment's β against the SFT model. */
  rewardAccuracy: number;
  rewardMargin: number;
  /** Sampled KL(policy ‖ SFT) per prompt (kl.ts). */
  kl: number;
  /** Mean oracle score of the greedy completions (synthetic tasks; null otherwise). */
  meanScore: number | null;
}

/** The pairs in the seed's order, and the unpaired view: each pair's chosen then rejected row, in that same order. */
export function dataViews(train: PairedPreferenceDataset, seed: number): { paired: PairedPreferenceDataset; unpaired: UnpairedPreferenceDataset } {
  const records = shuffledIndices(train.records.length, seed).map((i) => train.records[i]);
  const paired: PairedPreferenceDataset = { ...train, records, promptIds: records.map((r) => r.promptId) };
  const rows = records.flatMap((r) => [
    { line: r.line, ...(r.file ? { file: r.file } : {}), prompt: r.prompt, completion: r.chosen, label: true, promptId: r.promptId },
    { line: r.line, ...(r.file ? { file: r.file } : {}), prompt: r.prompt, completion: r.rejected, label: false, promptId: r.promptId },
  ]);
  const unpaired: UnpairedPreferenceDataset = { ...train, paired: false, format: 'unpaired', records: rows, promptIds: rows.map((r) => r.promptId) };
  return { paired, unpaired };
}

/**
 * The lines of a JSONL file written by appending (none when it does not exist). A torn last line (a
 * run killed mid-write) is dropped from the file too, so the next append starts on a fresh line.
 */
export async function readJsonl<T>(path: string): Promise<T[]> {
  if (!existsSync(path)) return [];
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim());
  const out: T[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      if (i === lines.length - 1) {
        await writeFile(path, out.map((r) => JSON.stringify(r) + '\n').join(''));
        break;
      }
      throw new Error(`${path}:${i + 1}: not JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  return out;
}

export interface ArmContext {
  task: PreparedTask;
  /** RPO's prompt embeddings (the config's train.prompt_embedder); absent: the policy's stand-in. */
  promptEmbedder?: PromptEmbedder;
  config: ExperimentConfig;
  device: Device;
  progress: boolean;
  signal?: AbortSignal;
}

/** The SFT model; with LoRA, its Linear weights held as train.base_dtype. */
async function loadStart(ctx: ArmContext, base = false): Promise<CausalLM> {
  const lora = ctx.config.train.lora !== null;
  return loadPretrainedCausalLM(ctx.task.sftDir, { device: ctx.device, ...(base && lora ? { linearStorage: ctx.config.train.baseDtype } : {}) });
}

/** Trains (or resumes) and evaluates the arm unless its result.json exists; returns the result. */
export async function runArm(ctx: ArmContext, arm: ArmConfig, seed: number, dir: string): Promise<ArmResult> {
  const resultFile = join(dir, 'result.json');
  if (existsSync(resultFile)) return JSON.parse(await readFile(resultFile, 'utf8')) as ArmResult;
  const { config, task } = ctx;
  const lora = config.train.lora;
  const policy = await loadStart(ctx, true);
  // With LoRA the base (adapters off) is the reference: no second copy of the weights.
  const reference = lora ? undefined : await loadStart(ctx);
  try {
    if (lora) applyLora(policy, { r: lora.r, alpha: lora.alpha, seed });
    let steps = 0, trainSeconds = 0, finalLoss: number | null = null;
    if (arm.loss !== 'none') {
      const views = dataViews(task.train, seed);
      const run = join(dir, 'run');
      const resume = (await findCheckpoint(run)) !== null;
      // Every arm's loss at the experiment's β (where it has one), unless the arm says otherwise.
      const defaults = getLoss(arm.loss).plugin.defaults as Record<string, unknown>;
      const lossConfig = { ...('beta' in defaults ? { beta: config.train.beta } : {}), ...arm.config };
      const started = performance.now();
      const out = await trainPreference({
        policy, ...(reference ? { reference } : {}), tokenizer: task.tokenizer, dataset: arm.unpaired ? views.unpaired : views.paired,
        loss: arm.loss, lossConfig, lr: config.train.lr, optimizer: config.train.optimizer, lrScheduler: 'constant',
        // The unpaired view holds two rows per pair: the same pairs per step.
        batchSize: arm.unpaired ? 2 * arm.batchSize : arm.batchSize, gradientAccumulationSteps: arm.gradientAccumulationSteps,
        contrastScope: arm.contrastScope, ...(config.train.steps === null ? { epochs: config.train.epochs } : { steps: config.train.steps }),
        shuffle: false, seed, outDir: run, resume, ...(ctx.promptEmbedder ? { promptEmbedder: ctx.promptEmbedder } : {}),
        maxLength: config.train.maxLength, maxPromptLength: config.train.maxPromptLength, progress: ctx.progress,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      trainSeconds = (performance.now() - started) / 1000;
      if (out.stopped) throw new Error('experiment: stopped');
      steps = out.steps;
      finalLoss = out.history.at(-1)?.loss ?? null;
    }
    return await evaluateArm(ctx, arm, seed, dir, policy, reference, { steps, trainSeconds, finalLoss });
  } finally {
    policy.dispose();
    reference?.dispose();
  }
}

async function evaluateArm(
  ctx: ArmContext, arm: ArmConfig, seed: number, dir: string, policy: CausalLM, reference: CausalLM | undefined,
  trained: Pick<ArmResult, 'steps' | 'trainSeconds' | 'finalLoss'>,
): Promise<ArmResult> {
  const { config, task } = ctx;
  // Greedy completions of the held-out prompts, appended batch by batch (a killed run keeps them).
  const completionsFile = join(dir, 'completions.jsonl');
  const have = await readJsonl<CompletionRecord>(completionsFile);
  const done = new Set(have.map((c) => c.id));
  const fresh = await generateDatasetCompletions(policy, task.tokenizer, task.eval, {
    maxNewTokens: config.eval.maxNewTokens, limit: config.eval.limit, skip: done, maxPromptLength: config.train.maxPromptLength,
    onBatch: async (records) => appendFile(completionsFile, records.map((r) => JSON.stringify(r) + '\n').join('')),
  });
  const completions = [...have, ...fresh].sort((a, b) => a.id - b.id);
  await judgeFile(ctx, join(dir, 'verdicts.jsonl'), completions.filter((c) => c.reference !== null).map((c) => ({ id: c.id, history: historyText(c.prompt), candidate: c.completion, baseline: c.reference! })));
  const { metrics } = await evaluatePreference({
    policy, reference, ...(ctx.promptEmbedder ? { promptEmbedder: ctx.promptEmbedder } : {}), tokenizer: task.tokenizer, dataset: task.eval, loss: 'dpo', lossConfig: { beta: config.train.beta },
    maxLength: config.train.maxLength, maxPromptLength: config.train.maxPromptLength,
  });
  // The prompts as the completions read them: the KL is of the policy that answered them.
  const prompts = await Promise.all(completions.map((c) => promptTokenIds(task.tokenizer, c.prompt, config.train.maxPromptLength, `prompt ${c.id}`)));
  const kl = await sampledKl(policy, reference, task.tokenizer, prompts, { samples: config.eval.klSamples, maxNewTokens: config.eval.maxNewTokens, seed, device: ctx.device });
  const score = task.score;
  const result: ArmResult = {
    task: task.name, arm: arm.name, seed, start: task.sftDir, ...trained,
    rewardAccuracy: metrics['rewards/accuracies'], rewardMargin: metrics['rewards/margins'], kl,
    meanScore: score ? completions.reduce((s, c) => s + score(historyText(c.prompt), c.completion), 0) / completions.length : null,
  };
  await writeFile(join(dir, 'result.json'), JSON.stringify(result, null, 1) + '\n');
  return result;
}

/** The records of the dataset's first `limit` distinct prompts (those completed and judged). */
function firstPrompts<D extends PreferenceDataset>(dataset: D, limit: number): D {
  if (dataset.prompts.length <= limit) return dataset;
  const records = (dataset.records as { promptId: number }[]).filter((r) => r.promptId < limit);
  return { ...dataset, records, promptIds: records.map((r) => r.promptId) } as D;
}

/** Judges the comparisons not yet in `file` (one verdict per line, appended as they come); returns them all, in id order. */
export async function judgeFile(ctx: ArmContext, file: string, items: { id: number; history: string; candidate: string; baseline: string }[]): Promise<JudgedComparison[]> {
  const have = await readJsonl<JudgedComparison>(file);
  const seen = new Set(have.map((v) => v.id));
  const fresh = await judgeComparisons(items.filter((c) => !seen.has(c.id)), ctx.task.judge, {
    template: ctx.task.template, seed: 0, onResult: async (v) => appendFile(file, JSON.stringify(v) + '\n'),
  });
  return [...have, ...fresh].sort((a, b) => Number(a.id) - Number(b.id));
}

/** The arm's completions (after runArm). */
export async function readCompletions(dir: string): Promise<CompletionRecord[]> {
  return (await readJsonl<CompletionRecord>(join(dir, 'completions.jsonl'))).sort((a, b) => a.id - b.id);
}
