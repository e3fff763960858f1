// What every arm of one task shares: the tokenizer, the SFT checkpoint it starts from, the training
// pairs and the held-out ones, the judge and its prompt template. A synthetic task writes its files
// (tokenizer.json, train.jsonl, eval.jsonl) and trains its SFT model once, as an ordinary relpo run
// (loss 'sft' on the chosen answers), under <out>/<task>/; a dataset task reads them as given.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Device } from '../autograd/device.js';
import { type PairedPreferenceDataset, type PreferenceDataset, readPreferenceJsonl } from '../data/jsonl.js';
import { readPreferenceData } from '../data/read.js';
import { type TextTokenizer, loadTokenizer } from '../io/tokenizer.js';
import { fetchHubPath } from '../io/hub-cache.js';
import { type Judge, openAIChatJudge } from '../eval/judge.js';
import { JUDGE_TEMPLATES } from '../eval/judge-prompts.js';
import { createCausalLM } from '../models/architectures.js';
import { trainPreference } from '../train/trainer.js';
import { findCheckpoint } from '../train/checkpoint.js';
import { syntheticTask, taskTokenizerJson } from './synthetic-task.js';
import { ORACLE_TEMPLATE, oracleJudge } from './oracle-judge.js';
import type { ExperimentConfig, TaskConfig } from './config.js';

export interface PreparedTask {
  /** The task's folder name: signal, control, or dataset. */
  name: string;
  tokenizer: TextTokenizer;
  /** The checkpoint folder every arm starts from. */
  sftDir: string;
  train: PairedPreferenceDataset;
  eval: PreferenceDataset;
  judge: Judge;
  template: string;
  /** The oracle's score of an answer (synthetic tasks only): the table's mean score column. */
  score?: (prompt: string, answer: string) => number;
}

export const taskName = (t: TaskConfig): string => t.kind;

export async function prepareTask(task: TaskConfig, config: ExperimentConfig, dir: string, o: { device: Device; progress: boolean; signal?: AbortSignal }): Promise<PreparedTask> {
  await mkdir(dir, { recursive: true });
  if (task.kind === 'dataset') {
    const modelDir = await fetchHubPath(task.model, 'model');
    const train = await readPreferenceData(await fetchHubPath(task.trainData, 'dataset'), { split: 'train' });
    if (!train.paired) throw new Error(`${task.trainData}: the experiment trains on paired data (arms marked unpaired take its unpaired view)`);
    const key = task.judge.apiKeyEnv ? process.env[task.judge.apiKeyEnv] : undefined;
    if (task.judge.apiKeyEnv && !key) throw new Error(`experiment: the judge's API key is read from $${task.judge.apiKeyEnv}, which is not set`);
    return {
      name: taskName(task), tokenizer: await loadTokenizer(modelDir), sftDir: modelDir, train,
      eval: await readPreferenceData(await fetchHubPath(task.evalData, 'dataset'), { split: 'test' }),
      judge: openAIChatJudge({ url: task.judge.url, model: task.judge.model, ...(key ? { apiKey: key } : {}) }),
      template: JUDGE_TEMPLATES[task.template],
    };
  }
  const { kind, ...sizes } = task;
  const synthetic = syntheticTask({ kind, ...sizes, seed: 0 });
  const data = join(dir, 'data');
  await mkdir(data, { recursive: true });
  const lines = (pairs: { prompt: string; chosen: string; rejected: string }[]) => pairs.map((p) => JSON.stringify(p)).join('\n') + '\n';
  await writeFile(join(data, 'tokenizer.json'), taskTokenizerJson(synthetic));
  await writeFile(join(data, 'train.jsonl'), lines(synthetic.train));
  await writeFile(join(data, 'eval.jsonl'), lines(synthetic.eval));
  const tokenizer = await loadTokenizer(data);
  const train = (await readPreferenceJsonl(join(data, 'train.jsonl'))) as PairedPreferenceDataset;
  const sftRun = join(dir, 'sft-run');
  // The SFT run's final checkpoint is the start of every arm; a killed SFT run resumes.
  const started = await findCheckpoint(sftRun);
  if (!existsSync(join(dir, 'sft-done'))) {
    const model = createCausalLM({ model_type: 'llama', ...config.model, vocab_size: tokenizer.vocabSize, tie_word_embeddings: false }, { device: o.device, seed: 0 });
    try {
      await trainPreference({
        policy: model, tokenizer, dataset: train, loss: 'sft', lr: config.sft.lr, batchSize: config.sft.batchSize, steps: config.sft.steps,
        lrScheduler: 'constant', seed: 0, outDir: sftRun, resume: started !== null, progress: o.progress, ...(o.signal ? { signal: o.signal } : {}),
      });
    } finally {
      model.dispose();
    }
    if (o.signal?.aborted) throw new Error('experiment: stopped during SFT');
    await writeFile(join(dir, 'sft-done'), '');
  }
  return {
    name: taskName(task), tokenizer, sftDir: (await findCheckpoint(sftRun))!, train, eval: await readPreferenceJsonl(join(data, 'eval.jsonl')),
    judge: oracleJudge(synthetic.score, `oracle (${kind} task)`), template: ORACLE_TEMPLATE, score: synthetic.score,
  };
}
