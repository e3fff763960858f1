// An experiment: tasks × arms × seeds, each arm a loss (and its options, batch, accumulation and
// contrast scope) trained from the same SFT start on the same data order and budget, then judged.
// Read from YAML or JSON (snake_case keys as in relpo train's --config); every key is checked and
// a wrong one named with its path. The built-in default is the miniature (docs/experiments.md).
import { parse as parseYaml } from 'yaml';
import type { TaskKind } from './synthetic-task.js';

export interface ArmConfig {
  /** Unique; the arm's folder name. */
  name: string;
  /** A registered loss, or 'none' (the SFT model itself, no preference step). */
  loss: string;
  /** The loss's options (relpo names, e.g. { weighting: 'uniform' }). */
  config: Record<string, unknown>;
  /** Train on the unpaired view (each pair as a desirable and an undesirable row, in the same order). */
  unpaired: boolean;
  /** Pairs per micro-batch (rows on the unpaired view: twice as many); default the experiment's. */
  batchSize: number;
  gradientAccumulationSteps: number;
  contrastScope: 'step' | 'micro-batch';
}

/** The synthetic task (exact oracle judge) or a real model, dataset and judge (the paper's protocol). */
export type TaskConfig =
  | { kind: TaskKind; families: number; items: number; answerWords: number; trainPrompts: number; evalPrompts: number; quality: number; decoy: number }
  | {
    kind: 'dataset';
    /** The SFT checkpoint folder (or hub id) every arm starts from; its tokenizer too. */
    model: string;
    trainData: string;
    evalData: string;
    /** An OpenAI-compatible judge; the API key is read from the environment variable named. */
    judge: { url: string; model: string; apiKeyEnv?: string };
    /** The paper's judge prompt: 'dialogue' (Anthropic-HH) or 'summarization' (TL;DR). */
    template: 'dialogue' | 'summarization';
  };

export interface ExperimentConfig {
  name: string;
  tasks: TaskConfig[];
  /** The synthetic tasks' model (a LLaMA config.json's sizes); ignored for dataset tasks. */
  model: Record<string, number>;
  /** Supervised fine-tuning on the chosen answers before the arms (synthetic tasks). */
  sft: { steps: number; lr: number; batchSize: number };
  /** What every arm shares. */
  train: {
    /** Optimizer steps per arm, or null: `epochs` passes over the pairs. */
    steps: number | null;
    epochs: number;
    lr: number;
    optimizer: 'adamw' | 'rmsprop';
    batchSize: number;
    /** Each arm's default (an arm may set its own). */
    gradientAccumulationSteps: number;
    beta: number;
    maxLength: number;
    maxPromptLength: number;
    /** LoRA adapters on a frozen base (no reference copy), or null: full fine-tuning. */
    lora: { r: number; alpha: number } | null;
    /** How a LoRA base holds its Linear weights. */
    baseDtype: 'float32' | 'bfloat16' | 'nf4';
    /** A sentence-transformers folder (all-MiniLM-L6-v2, as the paper) for RPO's prompt embeddings; null: the policy's stand-in. */
    promptEmbedder: string | null;
  };
  /** Completion and evaluation. */
  eval: { maxNewTokens: number; klSamples: number; limit: number };
  seeds: number[];
  /** The arm every other is judged against pairwise. */
  baseline: string;
  arms: ArmConfig[];
}

type Raw = Record<string, unknown>;

const SYNTHETIC_DEFAULTS = { families: 8, items: 12, answerWords: 16, trainPrompts: 384, evalPrompts: 64, quality: 0.1, decoy: 0.7 };

/** The paper's arms (Table 1's losses and RPO's weightings, paired and unpaired) and Figure 3's ablation. */
const PAPER_ARMS: Raw[] = [
  { name: 'sft', loss: 'none' },
  { name: 'dpo', loss: 'dpo' },
  { name: 'ipo', loss: 'ipo' },
  { name: 'kto', loss: 'kto', unpaired: true },
  { name: 'rpo-embedding', loss: 'rpo', config: { weighting: 'embedding', tau: 0.5 } },
  { name: 'rpo-uniform', loss: 'rpo', config: { weighting: 'uniform' } },
  { name: 'rpo-diagonal', loss: 'rpo', config: { weighting: 'diagonal', alpha: 0.8 } },
  { name: 'rpo-unpaired', loss: 'rpo', unpaired: true, config: { weighting: 'embedding', tau: 0.75 } },
  { name: 'rpo-mb2-micro-batch', loss: 'rpo', batch_size: 2, gradient_accumulation_steps: 4, contrast_scope: 'micro-batch', config: { tau: 0.5 } },
  { name: 'rpo-mb2-step', loss: 'rpo', batch_size: 2, gradient_accumulation_steps: 4, contrast_scope: 'step', config: { tau: 0.5 } },
];

/** The miniature as `npm run experiment` runs it (within 10 minutes on a 2-core machine). */
export const DEFAULT_EXPERIMENT: Raw = {
  name: 'miniature',
  tasks: [{ kind: 'signal' }, { kind: 'control' }],
  model: { hidden_size: 48, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 },
  sft: { steps: 200, lr: 3e-3, batch_size: 16 },
  train: { steps: 48, lr: 1e-4, optimizer: 'rmsprop', batch_size: 8, beta: 0.1 },
  eval: { max_new_tokens: 5, kl_samples: 4 },
  seeds: [0, 1],
  baseline: 'dpo',
  arms: PAPER_ARMS,
};

/** --full: three seeds. */
export const FULL_GRID: Raw = { ...DEFAULT_EXPERIMENT, name: 'miniature-full', seeds: [0, 1, 2] };

function fail(where: string, msg: string): never {
  throw new Error(`${where}: ${msg}`);
}

const KEYS = (o: Raw, where: string, allowed: string[]) => {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(where, `unknown key '${k}' (known: ${allowed.join(', ')})`);
};
const obj = (v: unknown, where: string): Raw => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : fail(where, `must be a mapping, got ${JSON.stringify(v)}`));
const num = (v: unknown, where: string, { int = false, min = -Infinity } = {}): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min) fail(where, `must be ${int ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''}, got ${JSON.stringify(v)}`);
  return v;
};
const str = (v: unknown, where: string): string => (typeof v === 'string' && v.length > 0 ? v : fail(where, `must be a non-empty string, got ${JSON.stringify(v)}`));
const oneOf = <T extends string>(v: unknown, where: string, allowed: readonly T[]): T => (allowed.includes(v as T) ? (v as T) : fail(where, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`));

function taskOf(v: unknown, where: string): TaskConfig {
  const t = obj(v, where);
  if (t.kind === 'dataset') {
    KEYS(t, where, ['kind', 'model', 'train_data', 'eval_data', 'judge', 'template']);
    const j = obj(t.judge, `${where}.judge`);
    KEYS(j, `${where}.judge`, ['url', 'model', 'api_key_env']);
    return {
      kind: 'dataset', model: str(t.model, `${where}.model`), trainData: str(t.train_data, `${where}.train_data`), evalData: str(t.eval_data, `${where}.eval_data`),
      judge: { url: str(j.url, `${where}.judge.url`), model: str(j.model, `${where}.judge.model`), ...(j.api_key_env === undefined ? {} : { apiKeyEnv: str(j.api_key_env, `${where}.judge.api_key_env`) }) },
      template: oneOf(t.template ?? 'dialogue', `${where}.template`, ['dialogue', 'summarization'] as const),
    };
  }
  KEYS(t, where, ['kind', 'families', 'items', 'answer_words', 'train_prompts', 'eval_prompts', 'quality', 'decoy']);
  const d = SYNTHETIC_DEFAULTS;
  return {
    kind: oneOf(t.kind, `${where}.kind`, ['signal', 'control', 'dataset'] as const) as TaskKind,
    families: num(t.families ?? d.families, `${where}.families`, { int: true, min: 1 }),
    items: num(t.items ?? d.items, `${where}.items`, { int: true, min: 1 }),
    answerWords: num(t.answer_words ?? d.answerWords, `${where}.answer_words`, { int: true, min: 2 }),
    trainPrompts: num(t.train_prompts ?? d.trainPrompts, `${where}.train_prompts`, { int: true, min: 1 }),
    evalPrompts: num(t.eval_prompts ?? d.evalPrompts, `${where}.eval_prompts`, { int: true, min: 1 }),
    quality: num(t.quality ?? d.quality, `${where}.quality`),
    decoy: num(t.decoy ?? d.decoy, `${where}.decoy`),
  };
}

/** A config (parsed YAML/JSON, snake_case) with every default filled in and every key checked; `where` names the file in errors. */
export function resolveExperimentConfig(raw: unknown, where = 'experiment config'): ExperimentConfig {
  const c = obj(raw, where);
  KEYS(c, where, ['name', 'tasks', 'model', 'sft', 'train', 'eval', 'seeds', 'baseline', 'arms']);
  const d = DEFAULT_EXPERIMENT as Record<string, Raw>;
  const sub = (key: string, allowed: string[]): Raw => {
    const o = { ...d[key], ...(c[key] === undefined ? {} : obj(c[key], `${where}.${key}`)) };
    KEYS(o, `${where}.${key}`, allowed);
    return o;
  };
  const sft = sub('sft', ['steps', 'lr', 'batch_size']);
  const train = sub('train', ['steps', 'epochs', 'lr', 'optimizer', 'batch_size', 'gradient_accumulation_steps', 'beta', 'max_length', 'max_prompt_length', 'lora', 'base_dtype', 'prompt_embedder']);
  const evalOpts = sub('eval', ['max_new_tokens', 'kl_samples', 'limit']);
  const model = obj(c.model ?? d.model, `${where}.model`);
  for (const [k, v] of Object.entries(model)) num(v, `${where}.model.${k}`);
  const batchSize = num(train.batch_size, `${where}.train.batch_size`, { int: true, min: 1 });
  const rawArms = c.arms ?? d.arms;
  if (!Array.isArray(rawArms) || rawArms.length === 0) fail(`${where}.arms`, 'must be a non-empty list');
  const arms = rawArms.map((a, i): ArmConfig => {
    const w = `${where}.arms[${i}]`;
    const o = obj(a, w);
    KEYS(o, w, ['name', 'loss', 'config', 'unpaired', 'batch_size', 'gradient_accumulation_steps', 'contrast_scope']);
    const name = str(o.name, `${w}.name`);
    if (!/^[A-Za-z0-9._-]+$/.test(name)) fail(`${w}.name`, `'${name}' must be letters, digits, '.', '_' or '-' (it names a folder)`);
    return {
      name, loss: str(o.loss, `${w}.loss`), config: o.config === undefined ? {} : obj(o.config, `${w}.config`),
      unpaired: o.unpaired === undefined ? false : o.unpaired === true || o.unpaired === false ? o.unpaired : fail(`${w}.unpaired`, 'must be true or false'),
      batchSize: num(o.batch_size ?? batchSize, `${w}.batch_size`, { int: true, min: 1 }),
      gradientAccumulationSteps: num(o.gradient_accumulation_steps ?? train.gradient_accumulation_steps ?? 1, `${w}.gradient_accumulation_steps`, { int: true, min: 1 }),
      contrastScope: oneOf(o.contrast_scope ?? 'step', `${w}.contrast_scope`, ['step', 'micro-batch'] as const),
    };
  });
  const names = arms.map((a) => a.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail(`${where}.arms`, `two arms are named '${dup}'`);
  const baseline = str(c.baseline ?? d.baseline, `${where}.baseline`);
  if (!names.includes(baseline)) fail(`${where}.baseline`, `'${baseline}' is not an arm (${names.join(', ')})`);
  const seeds = c.seeds ?? d.seeds;
  if (!Array.isArray(seeds) || seeds.length === 0) fail(`${where}.seeds`, 'must be a non-empty list of integers');
  const rawTasks = c.tasks ?? d.tasks;
  if (!Array.isArray(rawTasks) || rawTasks.length === 0) fail(`${where}.tasks`, 'must be a non-empty list');
  const lora = train.lora === undefined || train.lora === null ? null : obj(train.lora, `${where}.train.lora`);
  if (train.base_dtype !== undefined && train.base_dtype !== 'float32' && !lora) fail(`${where}.train.base_dtype`, `'${String(train.base_dtype)}' holds a frozen base: it needs train.lora`);
  return {
    name: str(c.name ?? d.name, `${where}.name`),
    tasks: rawTasks.map((t, i) => taskOf(t, `${where}.tasks[${i}]`)),
    model: model as Record<string, number>,
    sft: { steps: num(sft.steps, `${where}.sft.steps`, { int: true, min: 1 }), lr: num(sft.lr, `${where}.sft.lr`, { min: 0 }), batchSize: num(sft.batch_size, `${where}.sft.batch_size`, { int: true, min: 1 }) },
    train: {
      steps: train.steps === null ? null : num(train.steps, `${where}.train.steps`, { int: true, min: 1 }),
      epochs: num(train.epochs ?? 1, `${where}.train.epochs`, { min: 0, int: false }),
      lr: num(train.lr, `${where}.train.lr`, { min: 0 }),
      optimizer: oneOf(train.optimizer, `${where}.train.optimizer`, ['adamw', 'rmsprop'] as const), batchSize,
      gradientAccumulationSteps: num(train.gradient_accumulation_steps ?? 1, `${where}.train.gradient_accumulation_steps`, { int: true, min: 1 }),
      beta: num(train.beta, `${where}.train.beta`, { min: 0 }),
      maxLength: num(train.max_length ?? 512, `${where}.train.max_length`, { int: true, min: 2 }),
      maxPromptLength: num(train.max_prompt_length ?? 256, `${where}.train.max_prompt_length`, { int: true, min: 1 }),
      lora: lora ? { r: num(lora.r, `${where}.train.lora.r`, { int: true, min: 1 }), alpha: num(lora.alpha, `${where}.train.lora.alpha`, { min: 0 }) } : null,
      baseDtype: oneOf(train.base_dtype ?? 'float32', `${where}.train.base_dtype`, ['float32', 'bfloat16', 'nf4'] as const),
      promptEmbedder: train.prompt_embedder === undefined || train.prompt_embedder === null ? null : str(train.prompt_embedder, `${where}.train.prompt_embedder`),
    },
    eval: {
      maxNewTokens: num(evalOpts.max_new_tokens, `${where}.eval.max_new_tokens`, { int: true, min: 1 }),
      klSamples: num(evalOpts.kl_samples, `${where}.eval.kl_samples`, { int: true, min: 0 }),
      limit: num(evalOpts.limit ?? 256, `${where}.eval.limit`, { int: true, min: 1 }),
    },
    seeds: seeds.map((s, i) => num(s, `${where}.seeds[${i}]`, { int: true, min: 0 })),
    baseline,
    arms,
  };
}

/** Reads a YAML or JSON experiment config file. */
export function parseExperimentConfig(text: string, path: string): ExperimentConfig {
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`, { cause: e });
  }
  return resolveExperimentConfig(raw, path);
}
