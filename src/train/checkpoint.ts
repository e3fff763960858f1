// The trainer's checkpoint folder, outDir/checkpoint/:
//   config.json + model.safetensors   the policy (savePretrainedLlama; loadPretrainedLlama reads it)
//   optimizer.safetensors             the optimizer's state tensors, "<param>.<state key>"
//   optimizer.json                    optimizer kind, hyper-parameters, lr, per-parameter step counts
//   trainer_state.json                step, epoch, batch within the epoch, seed, dataset path, loss
// Written into a temporary sibling folder and then renamed into place (the previous checkpoint is
// moved to checkpoint.old first and removed last), so an interrupted save leaves the previous
// checkpoint readable: under checkpoint/, or under checkpoint.old/ if the crash fell between the
// two renames. findCheckpoint looks in both.
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { copyTokenizerFiles } from '../io/tokenizer.js';
import type { Tensor } from '../autograd/tensor.js';
import { keep } from '../autograd/scope.js';
import { faultPoint } from './fault-points.js';
import { saveSafetensors } from '../io/safetensors/save.js';
import { loadSafetensors } from '../io/safetensors/load.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { savePretrainedLlama } from '../models/pretrained.js';
import { loadLoraWeights, saveLoraAdapter } from '../models/lora-adapter.js';
import { type AdapterBase, writeAdapterBase } from '../models/adapter-base.js';
import { loraLayers } from '../nn/lora.js';
import type { LlamaForCausalLM } from '../models/llama.js';
import { AdamW, RMSprop, type AdamWOptions, type RMSpropOptions } from '../kernels/optim/optimizers.js';

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
export async function saveTrainingCheckpoint(
  outDir: string, policy: LlamaForCausalLM, opt: TrainerOptimizer, state: TrainerState, tokenizerFile?: string, adapterBase?: AdapterBase,
): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const final = join(outDir, 'checkpoint');
  const old = join(outDir, 'checkpoint.old');
  const tmp = join(outDir, `checkpoint.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  // With LoRA only the adapters train: they are saved (PEFT's format), not a copy of the frozen base.
  if (loraLayers(policy).length > 0) {
    await saveLoraAdapter(policy, tmp, adapterBase?.base_model_name_or_path ?? '');
    if (adapterBase) await writeAdapterBase(tmp, adapterBase);
  }
  else await savePretrainedLlama(policy, tmp);
  const tensors = new Map<string, Tensor>();
  const steps: Record<string, number> = {};
  for (const [name, p] of policy.namedParameters()) {
    const s = opt.stateOf(p) as AnyState | undefined;
    if (!s) continue;
    steps[name] = s.step;
    for (const [k, v] of Object.entries(s)) if (v && typeof v === 'object') tensors.set(`${name}.${k}`, v as Tensor);
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
  // checkpoint.old is replaced only by a complete checkpoint/: a run resumed from checkpoint.old
  // (killed between the renames) keeps it until the new folder is in place.
  if (await exists(final)) {
    await rm(old, { recursive: true, force: true });
    await rename(final, old);
    faultPoint('save: between the renames');
  }
  await rename(tmp, final);
  faultPoint('save: renamed into place');
  await rm(old, { recursive: true, force: true });
}

/** The latest complete checkpoint folder under outDir, or null. */
export async function findCheckpoint(outDir: string): Promise<string | null> {
  for (const name of ['checkpoint', 'checkpoint.old']) {
    const dir = join(outDir, name);
    if (await exists(join(dir, 'trainer_state.json'))) return dir;
  }
  return null;
}

export async function readTrainerState(dir: string): Promise<TrainerState> {
  return JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
}

/** Loads the checkpoint's weights into `policy` (replacing its parameter tensors). */
export async function loadPolicyWeights(dir: string, policy: LlamaForCausalLM): Promise<void> {
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
export async function loadOptimizer(dir: string, policy: LlamaForCausalLM): Promise<TrainerOptimizer> {
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
