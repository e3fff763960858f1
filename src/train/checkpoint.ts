// The trainer's checkpoints, as transformers' Trainer lays them out: outDir/checkpoint-<step>/, each
//   config.json + model.safetensors   the policy (savePretrainedCausalLM; loadPretrainedCausalLM reads it)
//   optimizer.safetensors             the optimizer's state tensors, "<param>.<state key>"
//   optimizer.json                    optimizer kind, hyper-parameters, lr, per-parameter step counts
//   trainer_state.json                step, epoch, batch within the epoch, seed, dataset path, loss, …
// and outDir/checkpoint, a link to the newest (the stable name relpo eval/generate/merge read).
// A folder is written under a temporary name and renamed once, so a checkpoint-<step>/ is always
// complete; the link is replaced atomically after it. findCheckpoint takes the newest complete one.
// With a save limit the oldest are removed (never the newest, nor the best by an eval metric).
import { access, lstat, mkdir, readFile, readdir, readlink, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { copyTokenizerFiles } from '../io/tokenizer.js';
import type { Tensor } from '../autograd/tensor.js';
import { keep } from '../autograd/scope.js';
import { faultPoint } from './fault-points.js';
import { saveSafetensors } from '../io/safetensors/save.js';
import { loadSafetensors } from '../io/safetensors/load.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { savePretrainedCausalLM } from '../models/pretrained.js';
import { loadLoraWeights, saveLoraAdapter } from '../models/lora-adapter.js';
import { type AdapterBase, writeAdapterBase } from '../models/adapter-base.js';
import { loraLayers } from '../nn/lora.js';
import type { CausalLM } from '../models/causal-lm.js';
import { AdamW, RMSprop, type AdamWOptions, type RMSpropOptions } from '../optim/optimizers.js';

export type OptimizerName = 'adamw' | 'rmsprop';

export interface TrainerState {
  /** Optimizer steps taken. */
  step: number;
  /** Epoch of the next batch and its index within that epoch's plan. */
  epoch: number;
  batchInEpoch: number;
  /** The shuffle seed: with epoch and batchInEpoch it fixes the position in the data stream. */
  seed: number;
  dataset: string;
  loss: string;
  /** Where coupled losses were evaluated (trainPreference's contrastScope); absent in checkpoints written before it existed ('micro-batch'). */
  contrastScope?: 'step' | 'micro-batch';
  /** The loss's resolved config, and a mix's terms (absent in checkpoints written before they were recorded). */
  lossConfig?: Record<string, number | boolean | string>;
  lossTerms?: { loss: string; weight: number; label: string; config: Record<string, number | boolean | string> }[];
  /** What else fixes the run's steps (a resumed run must match it): absent in checkpoints written before it was recorded. */
  trainerConfig?: TrainerConfig;
  /** The caller's own record of the run (relpo train: its resolved flags, which --resume restores). */
  runConfig?: Record<string, number | boolean | string>;
  /** With metricForBestModel: the best value so far and the checkpoint folder that had it. */
  bestMetric?: number;
  bestCheckpoint?: string;
  /** Data-parallel ranks that trained it (absent: one process); a resumed run must have as many. */
  worldSize?: number;
}

/** The trainer's settings that a resumed run must keep to take the steps the uninterrupted run takes. */
export interface TrainerConfig {
  optimizer: OptimizerName;
  lr: number;
  lrScheduler: string;
  maxGradNorm: number;
  batchSize: number;
  gradientAccumulationSteps: number;
  maxLength: number | null;
  maxPromptLength: number | null;
  shuffle: boolean;
}

interface OptimizerJson {
  kind: OptimizerName;
  lr: number;
  hyper: Record<string, unknown>;
  /** Per parameter name: its step count (parameters without state are absent). */
  steps: Record<string, number>;
}

type AnyState = { step: number } & Record<string, unknown>;

/** AdamW whose per-parameter state can be restored from a checkpoint. */
export class TrainerAdamW extends AdamW {
  restoreState(p: Tensor, s: AnyState): void {
    this.state.set(p, s as never);
  }
}

/** RMSprop whose per-parameter state can be restored from a checkpoint. */
export class TrainerRMSprop extends RMSprop {
  restoreState(p: Tensor, s: AnyState): void {
    this.state.set(p, s as never);
  }
}

export type TrainerOptimizer = TrainerAdamW | TrainerRMSprop;

export function makeOptimizer(kind: OptimizerName, params: Tensor[], lr: number, extra: AdamWOptions & RMSpropOptions = {}): TrainerOptimizer {
  if (kind === 'adamw') return new TrainerAdamW(params, { ...pick(extra, ['betas', 'eps', 'weightDecay']), lr });
  if (kind === 'rmsprop') return new TrainerRMSprop(params, { ...pick(extra, ['alpha', 'eps', 'weightDecay', 'momentum', 'centered']), lr });
  throw new Error(`trainPreference: unknown optimizer '${String(kind)}' (known: adamw, rmsprop)`);
}

function pick<T extends object>(o: T, keys: string[]): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => keys.includes(k) && v !== undefined)) as Partial<T>;
}

function hyperOf(opt: TrainerOptimizer): Record<string, unknown> {
  return opt instanceof TrainerAdamW
    ? { betas: opt.betas, eps: opt.eps, weightDecay: opt.weightDecay }
    : { alpha: opt.alpha, eps: opt.eps, weightDecay: opt.weightDecay, momentum: opt.momentum, centered: opt.centered };
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** Writes outDir/checkpoint/ atomically (see the file comment). */
/**
 * Writes outDir/checkpoint atomically (a temporary folder renamed into place): the weights (or the
 * LoRA adapter), the optimizer state, trainer_state.json, and the tokenizer's files when
 * `tokenizerFile` (a tokenizer.json path) is given, so the folder loads on its own.
 */
/** Which checkpoint-<step>/ folders a save keeps (transformers' save_total_limit and best model). */
export interface CheckpointRetention {
  /** Keep at most this many (the newest, plus the best one); default: all. */
  limit?: number;
  /** A folder name never removed (the best checkpoint by an eval metric). */
  keep?: string;
}

const STEP_FOLDER = /^checkpoint-(\d+)$/;

/**
 * Writes outDir/checkpoint-<step>/ (under a temporary name, renamed once): the weights (or the LoRA
 * adapter, with the record of its base), the optimizer state, trainer_state.json, and the
 * tokenizer's files when `tokenizerFile` (a tokenizer.json path) is given, so the folder loads on
 * its own; then points outDir/checkpoint at it and applies `retention`.
 */
export async function saveTrainingCheckpoint(
  outDir: string, policy: CausalLM, opt: TrainerOptimizer, state: TrainerState, tokenizerFile?: string, adapterBase?: AdapterBase,
  retention: CheckpointRetention = {},
): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const name = `checkpoint-${state.step}`;
  const final = join(outDir, name);
  const tmp = join(outDir, `checkpoint.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  // With LoRA only the adapters train: they are saved (PEFT's format), not a copy of the frozen base.
  if (loraLayers(policy).length > 0) {
    await saveLoraAdapter(policy, tmp, adapterBase?.base_model_name_or_path ?? '');
    if (adapterBase) await writeAdapterBase(tmp, adapterBase);
  } else await savePretrainedCausalLM(policy, tmp);
  const tensors = new Map<string, Tensor>();
  const steps: Record<string, number> = {};
  for (const [pname, p] of policy.namedParameters()) {
    const st = opt.stateOf(p) as AnyState | undefined;
    if (!st) continue;
    steps[pname] = st.step;
    for (const [k, v] of Object.entries(st)) if (v && typeof v === 'object') tensors.set(`${pname}.${k}`, v as Tensor);
  }
  faultPoint('save: weights written');
  await saveSafetensors(join(tmp, 'optimizer.safetensors'), tensors);
  faultPoint('save: optimizer written');
  const kind: OptimizerName = opt instanceof TrainerAdamW ? 'adamw' : 'rmsprop';
  const optJson: OptimizerJson = { kind, lr: opt.lr, hyper: hyperOf(opt), steps };
  await writeFile(join(tmp, 'optimizer.json'), `${JSON.stringify(optJson, null, 2)}\n`);
  await writeFile(join(tmp, 'trainer_state.json'), `${JSON.stringify(state, null, 2)}\n`);
  if (tokenizerFile) copyTokenizerFiles(dirname(tokenizerFile), tmp);
  faultPoint('save: folder complete');
  // A folder of this step from before a crash (its steps redone since) is replaced.
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  faultPoint('save: renamed into place');
  await pointLatestAt(outDir, name);
  faultPoint('save: latest points at it');
  await pruneCheckpoints(outDir, name, retention);
}

/** outDir/checkpoint → checkpoint-<step>, replaced atomically (a relative link, so the folder can move). */
async function pointLatestAt(outDir: string, name: string): Promise<void> {
  const link = join(outDir, 'checkpoint');
  const st = await lstat(link).catch(() => null);
  if (st && !st.isSymbolicLink()) {
    // A run saved before the layout changed: its checkpoint/ folder becomes checkpoint-<its step>.
    const old = await readTrainerState(link).catch(() => null);
    const to = old ? join(outDir, `checkpoint-${old.step}`) : null;
    if (to && !(await exists(to))) await rename(link, to);
    else await rm(link, { recursive: true, force: true });
  }
  const tmpLink = join(outDir, `checkpoint.link-${process.pid}`);
  await rm(tmpLink, { force: true });
  await symlink(name, tmpLink, 'dir');
  await rename(tmpLink, link);
  await rm(join(outDir, 'checkpoint.old'), { recursive: true, force: true });
}

/**
 * Finishes a save that a crash cut between renaming checkpoint-<step>/ into place and pointing
 * outDir/checkpoint at it: when `dir` (the folder a resumed run found) is not what the link names,
 * the link is pointed at it and `retention` applied, as the save would have.
 */
export async function finishInterruptedSave(outDir: string, dir: string, retention: CheckpointRetention = {}): Promise<void> {
  const name = basename(dir);
  if (!STEP_FOLDER.test(name) || (await readlink(join(outDir, 'checkpoint')).catch(() => null)) === name) return;
  await pointLatestAt(outDir, name);
  await pruneCheckpoints(outDir, name, retention);
}

/** The checkpoint-<step>/ folders under outDir, oldest first. */
export async function stepFolders(outDir: string): Promise<{ name: string; step: number }[]> {
  const names = await readdir(outDir).catch(() => [] as string[]);
  return names.flatMap((n) => {
    const m = STEP_FOLDER.exec(n);
    return m ? [{ name: n, step: Number(m[1]) }] : [];
  }).sort((a, b) => a.step - b.step);
}

async function pruneCheckpoints(outDir: string, newest: string, { limit, keep }: CheckpointRetention): Promise<void> {
  if (limit === undefined) return;
  const newestFirst = (await stepFolders(outDir)).reverse().map((f) => f.name);
  const kept = new Set([newest, ...newestFirst.slice(0, Math.max(limit, 1)), ...(keep ? [keep] : [])]);
  for (const name of newestFirst) if (!kept.has(name)) await rm(join(outDir, name), { recursive: true, force: true });
}

/** The newest complete checkpoint folder under outDir (its real path), or null. */
export async function findCheckpoint(outDir: string): Promise<string | null> {
  const folders = (await stepFolders(outDir)).reverse();
  for (const f of folders) {
    const dir = join(outDir, f.name);
    if (await exists(join(dir, 'trainer_state.json'))) return dir;
  }
  // Runs saved before checkpoint-<step>/ folders: checkpoint/, or checkpoint.old/ between its renames.
  for (const name of ['checkpoint', 'checkpoint.old']) {
    const dir = join(outDir, name);
    if (await exists(join(dir, 'trainer_state.json'))) return realpath(dir);
  }
  return null;
}

export async function readTrainerState(dir: string): Promise<TrainerState> {
  return JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
}

/** Loads the checkpoint's weights into `policy` (replacing its parameter tensors). */
export async function loadPolicyWeights(dir: string, policy: CausalLM): Promise<void> {
  if (await exists(join(dir, 'adapter_config.json'))) {
    const layers = loraLayers(policy);
    if (layers.length === 0) throw new Error(`${dir} holds a LoRA adapter: apply LoRA to the policy (applyLora, with the run's options) before resuming`);
    await loadLoraWeights(policy, dir);
    return;
  }
  const first = policy.parameters()[0];
  const weights = await loadCheckpoint(dir, { device: first.device, dtype: first.dtype as never });
  try {
    policy.loadStateDict(weights);
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

/** Builds the optimizer over policy's (current) parameters with the checkpoint's hyper-parameters and state. */
export async function loadOptimizer(dir: string, policy: CausalLM): Promise<TrainerOptimizer> {
  const j = JSON.parse(await readFile(join(dir, 'optimizer.json'), 'utf8')) as OptimizerJson;
  const named = new Map([...policy.namedParameters()].filter(([, p]) => p.requiresGrad));
  const opt = makeOptimizer(j.kind, [...named.values()], j.lr, j.hyper as AdamWOptions & RMSpropOptions);
  const first = [...named.values()][0];
  const tensors = await loadSafetensors(join(dir, 'optimizer.safetensors'), { device: first.device, dtype: first.dtype as never });
  const used = new Set<string>();
  for (const [name, step] of Object.entries(j.steps)) {
    const p = named.get(name);
    if (!p) throw new Error(`${dir}/optimizer.json: state for '${name}', which the policy does not have`);
    const s: AnyState = { step };
    for (const [key, t] of tensors) {
      if (!key.startsWith(`${name}.`)) continue;
      const k = key.slice(name.length + 1);
      if (k.includes('.')) continue; // a longer parameter name sharing this prefix
      s[k] = keep(t);
      used.add(key);
    }
    opt.restoreState(p, s);
  }
  for (const [key, t] of tensors) if (!used.has(key)) t.dispose();
  return opt;
}
