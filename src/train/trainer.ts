// trainPreference: a preference-optimisation loop (docs/training.md). Each step: plan its
// micro-batches (step-plan.ts), compute its gradients in one pass per micro-batch
// (step-single-pass.ts) or, for a loss that couples rows over several micro-batches in step scope,
// in two passes over the step (step-two-pass.ts), then apply them. Only a step whose losses and
// gradient are finite is applied (optimizer.step() at the scheduled lr, the gradient clipped inside
// the update), so a NaN/Inf step leaves the weights and every saved checkpoint as they were.
// Held-out evaluations run every evalSteps steps; checkpoints every saveEvery. Under MPI (several
// ranks, data-parallel.ts) each rank runs its share of every step, the gradients are summed across
// ranks before the identical update, and rank 0 alone writes (docs/distributed.md).
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tidy } from '../autograd/scope.js';
import { ReferenceLogpsCache } from './reference-cache.js';
import { getLoss } from '../losses/registry.js';
import { lossNeeds } from '../losses/checks.js';
import type { MixedLoss } from '../losses/mix.js';
import type { LossConfig } from '../losses/types.js';
import type { PreferenceDataset } from '../data/jsonl.js';
import { planPreferenceBatches, type IndexBatch } from '../data/batches.js';
import { ProgressBar, type ProgressDisplay } from '../io/progress.js';
import { type AdamWOptions, type RMSpropOptions, clipGradNormScale } from '../optim/index.js';
import { type LrSchedule, type LrSchedulerType, checkLrScheduler, lrFactor, warmupStepsOf } from './schedule.js';
import { modelDtype } from './sequence-logps.js';
import { referenceOf } from './batch.js';
import { type PreferenceRunOptions, evaluateLoss } from './evaluate.js';
import { PromptEmbeddingCache } from './prompt-embeddings.js';
import { CONTRAST_SCOPES, type ContrastScope, type StepContext, type StepOutcome, usesTwoPasses } from './step.js';
import { planStep } from './step-plan.js';
import { withRunLock } from './run-lock.js';
import { type AdapterBase, baseFingerprint } from '../models/adapter-base.js';
import { loraLayers } from '../nn/lora.js';
import { faultPoint } from './fault-points.js';
import { type Communicator, communicatorFromEnv } from '../distributed/index.js';
import { totalGradNorm } from '../optim/grad-norm.js';
import { BUCKET_VALUES, allGatherJson, combineReports, gatherRowsAcrossRanks, partOf, shareOf, shareReport, sumGradients, together } from './data-parallel.js';
import { GradientSumInBackward } from './grad-sum-in-backward.js';
import { singlePassStep } from './step-single-pass.js';
import { twoPassStep } from './step-two-pass.js';
import {
  findCheckpoint, finishInterruptedSave, loadOptimizer, loadPolicyWeights, makeOptimizer, readTrainerState, saveTrainingCheckpoint,
  type OptimizerName, type TrainerConfig, type TrainerOptimizer, type TrainerState,
} from './checkpoint.js';

/** The policy's parameters are updated in place (replaced on resume). */
export interface TrainPreferenceOptions extends PreferenceRunOptions {
  /** Default 'adamw'. */
  optimizer?: OptimizerName;
  /** Peak learning rate; the schedule scales it per step. */
  lr: number;
  /** transformers' schedules: 'linear' (default, as TRL), 'cosine', 'constant', 'constant_with_warmup'. */
  lrScheduler?: LrSchedulerType;
  /** Steps of linear warmup from 0 (default 0); overrides warmupRatio. */
  warmupSteps?: number;
  /** Warmup as a fraction of all steps, rounded up (default 0). */
  warmupRatio?: number;
  /**
   * Clip the total gradient norm to this (torch's clip_grad_norm_, folded into the optimizer's
   * update); default 1.0 as TRL; 0 turns clipping off. The pre-clip norm is logged as grad_norm.
   */
  maxGradNorm?: number;
  /** Other optimizer hyper-parameters (betas, eps, weightDecay, alpha, momentum, centered). */
  optimizerOptions?: AdamWOptions & RMSpropOptions;
  /** Pairs (paired data) or rows (unpaired) per micro-batch (one forward and backward; per step without accumulation). */
  batchSize: number;
  /**
   * Micro-batches whose gradients add up to one optimizer step (default 1): a step sees batchSize ×
   * this many pairs, as one batch of them (see contrastScope).
   */
  gradientAccumulationSteps?: number;
  /**
   * Where a loss that couples rows (rpo, rpo_simpo, kto, aot, orpo, …) is evaluated when a step has
   * several micro-batches: 'step' (default) over all the step's rows, so k micro-batches of b give
   * the gradient of one batch of k·b (RPO's contrast matrix is k·b × k·b) at one micro-batch's
   * activation memory, for one more policy forward per micro-batch; 'micro-batch' over each
   * micro-batch alone. Losses that are a mean over pairs are the same either way. Stored in the
   * checkpoint; a resumed run keeps it.
   */
  contrastScope?: ContrastScope;
  /** Optimizer steps in total (resumed runs count the steps already taken). Default: epochs × batches per epoch / gradientAccumulationSteps, rounded up. */
  steps?: number;
  /** Passes over the data, when steps is not given (default 1). */
  epochs?: number;
  /**
   * Run the reference over every record once before training and read its log-probs from a cache
   * in the steps (TRL's precompute_ref_log_probs): no reference forward per step. Not for losses
   * with KL pairs (KTO). Under several ranks each runs a part of the pass and every rank gets
   * every row. Default false.
   */
  precomputeRefLogps?: boolean;
  /** Shuffle seed (default 0): each epoch's order is fixed by (seed, epoch). */
  seed?: number;
  /** Shuffle the data (default true). */
  shuffle?: boolean;
  /** Where metrics.jsonl and checkpoint/ go. Without it nothing is written. */
  outDir?: string;
  /** Save a checkpoint every this many steps (and always at the end, when outDir is set). */
  saveEvery?: number;
  /** Keep at most this many checkpoint-<step>/ folders, the newest (and the best one); default: all (transformers' save_total_limit). */
  saveTotalLimit?: number;
  /**
   * An evaluation metric ('eval_loss', 'eval_rewards/accuracies', …) by which the best checkpoint is
   * kept whatever saveTotalLimit says; the trainer state records it (bestCheckpoint, bestMetric).
   * A save is only ranked when an evaluation ran at its step.
   */
  metricForBestModel?: string;
  /** Whether a larger metricForBestModel is better (default: false for a name ending in 'loss', else true, as transformers). */
  greaterIsBetter?: boolean;
  /** Continue from outDir/checkpoint (weights, optimizer state, data position). */
  resume?: boolean;
  /**
   * With LoRA: the base's folder or hub id, written to the adapter's base_model_name_or_path, with a
   * fingerprint of the base in relpo_base.json beside it (merge and generate check it).
   */
  baseModel?: string;
  /** Recorded as is in the checkpoint's trainer_state.json (relpo train: its resolved flags, restored by --resume). */
  runConfig?: Record<string, number | boolean | string>;
  /** Called with each step's metrics. */
  log?: (metrics: StepMetrics) => void;
  /** A progress bar: true for stderr (Node), or a function of each update (a page's display). */
  progress?: ProgressDisplay;
  /**
   * Stops the run cleanly when aborted (relpo train aborts it on SIGINT/SIGTERM): the step under way
   * finishes, a checkpoint is written (with outDir), and the result says `stopped`.
   */
  signal?: AbortSignal;
  /**
   * Held-out preferences (e.g. splitTrainEval's eval half, or another file of the same kind): the
   * loss and its metrics without gradient, prefixed eval_, every evalSteps steps and after the last.
   */
  evalDataset?: PreferenceDataset;
  /** Evaluate every this many steps (default 0: only after the last step). */
  evalSteps?: number;
  /** Pairs (or rows) per evaluation batch (default batchSize). */
  evalBatchSize?: number;
  /** Called with each evaluation's metrics. */
  onEval?: (metrics: EvalMetrics) => void;
  /**
   * The ranks that train together (data parallelism; default communicatorFromEnv(): MPI's under
   * mpirun, else this process alone). Each rank runs gradientAccumulationSteps / size of every
   * step's micro-batches; rank 0 alone writes outDir and shows progress; log and onEval are called
   * on every rank with the same numbers.
   */
  communicator?: Communicator;
  /**
   * Under several ranks, where the gradient sum starts: 'backward' (the default) from backward's
   * hook during each rank's last backward of the step, a bucket as soon as its gradients are final;
   * 'after' once that backward is done. The same bits either way (docs/distributed.md).
   */
  gradientSumStarts?: 'backward' | 'after';
  /** Values per gradient bucket, one all-reduce each (default 2^22). */
  gradientBucketValues?: number;
}

/** One evaluation (a line of metrics.jsonl): eval_loss and the loss's metrics as eval_<name>, averaged over the eval records. */
export interface EvalMetrics {
  step: number;
  epoch: number;
  eval_loss: number;
  /** Records (pairs, or rows) evaluated. */
  eval_samples: number;
  [metric: string]: number;
}


/** One step's record (a line of metrics.jsonl): loss, the loss's TRL-named metrics, lr, gradient norm, throughput. */
export interface StepMetrics {
  step: number;
  epoch: number;
  loss: number;
  /** The learning rate this step ran at (after the schedule). */
  lr: number;
  /** The total gradient norm before clipping. */
  grad_norm: number;
  'tokens/s': number;
  [metric: string]: number;
}

export interface TrainPreferenceResult {
  /** Steps taken in total (a resumed run counts the earlier ones). */
  steps: number;
  /** This run's metrics, one per step. */
  history: StepMetrics[];
  /** This run's evaluations, in order. */
  evalHistory: EvalMetrics[];
  /** Where the final checkpoint was written, if anywhere. */
  checkpoint?: string;
  /** With precomputeRefLogps: rows cached, and rows read from / missed in the cache by the steps. */
  referenceCache?: { rows: number; hits: number; misses: number };
  /** The run was stopped by its signal before `steps` (the checkpoint holds where it stopped). */
  stopped?: boolean;
}

export async function trainPreference(opts: TrainPreferenceOptions): Promise<TrainPreferenceResult> {
  const comm = opts.communicator ?? communicatorFromEnv();
  // Rank 0 writes and holds the lock; the others read the checkpoint it wrote when resuming.
  if (comm.rank !== 0) return train(opts, comm);
  if (opts.outDir) await mkdir(opts.outDir, { recursive: true });
  return withRunLock(opts.outDir, () => train(opts, comm));
}

async function train(opts: TrainPreferenceOptions, comm: Communicator): Promise<TrainPreferenceResult> {
  const { policy, reference, tokenizer, dataset, batchSize, outDir } = opts;
  const seed = opts.seed ?? 0;
  const shuffle = opts.shuffle ?? true;
  const loss = getLoss(opts.loss);
  const config = loss.resolveConfig(opts.lossConfig);
  const needs = lossNeeds(loss.plugin, config);
  const liveReference = referenceOf(policy, reference);
  // With precomputeRefLogps the steps read the reference's log-probs from a cache filled below.
  const refCache = opts.precomputeRefLogps && liveReference ? new ReferenceLogpsCache(liveReference) : undefined;
  const referenceLogps = refCache ? refCache.logps : liveReference;
  if (needs.reference && !referenceLogps) {
    throw new Error(`trainPreference: loss '${loss.name}' needs reference log-probs under config ${JSON.stringify(config)}; pass a frozen reference model (e.g. a second loadPretrainedCausalLM of the starting checkpoint), or train LoRA adapters (applyLora) so the base model serves as the reference`);
  }
  if (needs.klEstimate && !referenceLogps) throw new Error(`trainPreference: loss '${loss.name}' needs a KL estimate under a reference model; pass reference`);
  if (opts.precomputeRefLogps && needs.klEstimate) {
    throw new Error(`trainPreference: precomputeRefLogps does not cover loss '${loss.name}': its KL pairs change with every batch's composition, so the reference must run each step`);
  }
  if (opts.precomputeRefLogps && (needs.verboseWeight ?? 1) !== 1) {
    throw new Error(`trainPreference: precomputeRefLogps does not cover loss '${loss.name}' with LD-DPO's verbose weight ${needs.verboseWeight}: a row's weighted reference log-prob depends on its pair's other answer, which the cache does not key on`);
  }
  if (reference === policy) throw new Error('trainPreference: reference must be a separate, frozen model, not the policy itself');
  if (!loss.data[dataset.paired ? 'paired' : 'unpaired']) {
    throw new Error(`trainPreference: loss '${loss.name}' does not take ${dataset.paired ? 'paired' : 'unpaired'} data (${dataset.path})`);
  }
  if (opts.saveEvery !== undefined && (!Number.isInteger(opts.saveEvery) || opts.saveEvery < 1)) throw new Error(`trainPreference: saveEvery must be a positive integer, got ${opts.saveEvery}`);
  if (opts.saveTotalLimit !== undefined && (!Number.isInteger(opts.saveTotalLimit) || opts.saveTotalLimit < 1)) throw new Error(`trainPreference: saveTotalLimit must be a positive integer, got ${opts.saveTotalLimit}`);
  if (opts.resume && !outDir) throw new Error('trainPreference: resume needs outDir (where the checkpoint is)');
  const evalSteps = opts.evalSteps ?? 0;
  if (!Number.isInteger(evalSteps) || evalSteps < 0) throw new Error(`trainPreference: evalSteps must be a non-negative integer, got ${evalSteps}`);
  const evalData = opts.evalDataset;
  if (evalData && evalData.paired !== dataset.paired) {
    throw new Error(`trainPreference: the eval data (${evalData.path}) is ${evalData.paired ? 'paired' : 'unpaired'} but the training data (${dataset.path}) is not`);
  }
  if (evalData && evalData.records.length === 0) throw new Error(`trainPreference: the eval data (${evalData.path}) has no records`);
  const sumStarts = opts.gradientSumStarts ?? 'backward';
  if (sumStarts !== 'backward' && sumStarts !== 'after') throw new Error(`trainPreference: gradientSumStarts must be 'backward' or 'after', got ${JSON.stringify(sumStarts)}`);
  const bucketValues = opts.gradientBucketValues ?? BUCKET_VALUES;
  if (!Number.isInteger(bucketValues) || bucketValues < 1) throw new Error(`trainPreference: gradientBucketValues must be a positive integer, got ${bucketValues}`);

  const epochs = opts.epochs ?? 1;
  const accumulation = opts.gradientAccumulationSteps ?? 1;
  if (!Number.isInteger(accumulation) || accumulation < 1) throw new Error(`trainPreference: gradientAccumulationSteps must be a positive integer, got ${accumulation}`);
  if (opts.contrastScope !== undefined && !CONTRAST_SCOPES.includes(opts.contrastScope)) {
    throw new Error(`trainPreference: contrastScope must be one of ${CONTRAST_SCOPES.join(', ')}, got ${JSON.stringify(opts.contrastScope)}`);
  }
  const share = comm.size > 1 ? shareOf(comm, accumulation) : undefined;
  const resumeDir = opts.resume && outDir ? await findCheckpoint(outDir) : null;
  if (opts.resume && !resumeDir) throw new Error(`trainPreference: resume is set but ${outDir} holds no checkpoint (checkpoint/trainer_state.json)`);
  const resumed = resumeDir ? await readTrainerState(resumeDir) : undefined;
  if (resumed && (resumed.worldSize ?? 1) !== comm.size) {
    throw new Error(`trainPreference: ${resumeDir} was trained by ${resumed.worldSize ?? 1} rank(s), this run has ${comm.size}; resume with the same number of ranks (mpirun -np ${resumed.worldSize ?? 1})`);
  }
  // A checkpoint keeps its scope (one written before scopes existed was 'micro-batch').
  const savedScope = resumed ? (resumed.contrastScope ?? 'micro-batch') : undefined;
  if (savedScope && opts.contrastScope && opts.contrastScope !== savedScope) {
    throw new Error(`trainPreference: ${resumeDir} was trained with contrastScope '${savedScope}', this run asks for '${opts.contrastScope}'`);
  }
  const scope: ContrastScope = savedScope ?? opts.contrastScope ?? 'step';
  const twoPasses = usesTwoPasses(scope, accumulation, needs, dataset.paired);
  // Over two passes only the step must hold both sides of unpaired data, not each micro-batch.
  const plan = (epoch: number): IndexBatch[] => planPreferenceBatches(dataset, { batchSize, seed, epoch, shuffle, oneSided: twoPasses });
  let planned: { epoch: number; batches: IndexBatch[] } | undefined;
  const planEpoch = (epoch: number): IndexBatch[] => (planned?.epoch === epoch ? planned : (planned = { epoch, batches: plan(epoch) })).batches;
  const totalSteps = opts.steps ?? Math.ceil((epochs * planEpoch(0).length) / accumulation);
  if (!Number.isInteger(totalSteps) || totalSteps < 0) throw new Error(`trainPreference: steps must be a non-negative integer, got ${totalSteps}`);
  const maxGradNorm = opts.maxGradNorm ?? 1;
  if (!Number.isFinite(maxGradNorm) || maxGradNorm < 0) throw new Error(`trainPreference: maxGradNorm must be a finite number ≥ 0 (0: no clipping), got ${maxGradNorm}`);
  let schedule: LrSchedule;
  try {
    schedule = { type: checkLrScheduler(opts.lrScheduler ?? 'linear'), warmupSteps: warmupStepsOf(totalSteps, opts.warmupSteps, opts.warmupRatio), totalSteps };
  } catch (e) {
    throw new Error(`trainPreference: ${(e as Error).message}`);
  }

  const lossTerms = (loss.plugin as Partial<MixedLoss>).mixTerms;
  const trainerConfig: TrainerConfig = {
    optimizer: opts.optimizer ?? 'adamw', lr: opts.lr, lrScheduler: schedule.type, maxGradNorm, batchSize, gradientAccumulationSteps: accumulation,
    maxLength: opts.maxLength ?? null, maxPromptLength: opts.maxPromptLength ?? null, shuffle,
  };
  const recorded = { contrastScope: scope, lossConfig: config, ...(lossTerms ? { lossTerms } : {}), trainerConfig, ...(opts.runConfig ? { runConfig: opts.runConfig } : {}) };
  let state: TrainerState = { step: 0, epoch: 0, batchInEpoch: 0, seed, dataset: dataset.path, loss: loss.name, ...recorded, ...(comm.size > 1 ? { worldSize: comm.size } : {}) };
  let optimizer: TrainerOptimizer;
  // (trainPreference made outDir before taking its lock.)
  const writer = comm.rank === 0;
  const metricsPath = outDir && writer ? join(outDir, 'metrics.jsonl') : undefined;
  if (resumeDir && resumed) {
    const dir = resumeDir;
    state = { ...resumed, ...recorded };
    if (resumed.seed !== seed || resumed.loss !== loss.name) {
      throw new Error(`trainPreference: ${dir} was written with seed ${resumed.seed} and loss '${resumed.loss}', this run has seed ${seed} and loss '${loss.name}'`);
    }
    const changed = changedLossSetting(resumed, config, lossTerms) ?? changedTrainerSetting(resumed.trainerConfig, trainerConfig);
    if (changed) throw new Error(`trainPreference: ${dir} was trained with ${changed}; resuming with another setting would not continue that run (the step count, saving and evaluation may change; start a new outDir for the rest)`);
    // A crash between a save's rename and its link leaves the newest folder unnamed by the link.
    if (writer) await finishInterruptedSave(outDir!, dir, { limit: opts.saveTotalLimit, keep: state.bestCheckpoint });
    await loadPolicyWeights(dir, policy);
    optimizer = await loadOptimizer(dir, policy);
    optimizer.lr = opts.lr;
    // Metrics of steps after the checkpoint are redone: drop their lines.
    if (metricsPath) {
      const old = await readFile(metricsPath, 'utf8').catch(() => '');
      await writeFile(metricsPath, keptMetricLines(old, state.step, metricsPath).map((l) => `${l}\n`).join(''));
    }
  } else {
    // Only what trains: with LoRA, the adapters (the rest is frozen).
    optimizer = makeOptimizer(opts.optimizer ?? 'adamw', policy.parameters().filter((p) => p.requiresGrad), opts.lr, opts.optimizerOptions);
    if (metricsPath) await writeFile(metricsPath, '');
  }

  const dtype = modelDtype(policy);
  const device = policy.device;
  const prompts = needs.promptEmbeddings && opts.promptEmbedder ? new PromptEmbeddingCache(opts.promptEmbedder, dataset) : undefined;
  // splitTrainEval's halves share the prompt table, and so the cache.
  const evalPrompts = evalData && needs.promptEmbeddings && opts.promptEmbedder
    ? (evalData.prompts === dataset.prompts ? prompts : new PromptEmbeddingCache(opts.promptEmbedder, evalData))
    : undefined;
  const evalHistory: EvalMetrics[] = [];
  let evaluatedAt = -1;
  const evaluate = async (): Promise<void> => {
    const { means, samples } = await evaluateLoss({
      loss, config, policy, reference: referenceLogps, tokenizer, dataset: evalData!, batchSize: opts.evalBatchSize ?? batchSize,
      tokenize: { maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength }, prompts: evalPrompts, communicator: comm,
    });
    const m: EvalMetrics = { step: state.step, epoch: state.epoch, eval_loss: NaN, eval_samples: samples };
    for (const [k, v] of means) m[`eval_${k}`] = v;
    evalHistory.push(m);
    evaluatedAt = state.step;
    if (metricsPath) await appendFile(metricsPath, `${JSON.stringify(m)}\n`);
    opts.onEval?.(m);
  };
  if (refCache && needs.reference) {
    // One pass of the reference over the training records (and the eval records), before step 1;
    // under several ranks each runs a part of each set's batches (rank 0's bar counts its own).
    const tokenize = { maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength, device };
    const sets = evalData ? [dataset, evalData] : [dataset];
    const preBatch = opts.evalBatchSize ?? batchSize;
    const batchesOf = (d: PreferenceDataset) => {
      const { from, to } = partOf(comm, planPreferenceBatches(d, { batchSize: preBatch, shuffle: false }).length);
      return to - from;
    };
    const total = sets.reduce((n, d) => n + batchesOf(d), 0);
    const pre = opts.progress && writer ? new ProgressBar(total, 'reference log-probs', opts.progress) : undefined;
    let before = 0;
    for (const data of sets) {
      await refCache.fill(tokenizer, data, preBatch, tokenize, (done) => pre?.update(before + done), comm);
      before += batchesOf(data);
    }
  }
  const bar = opts.progress && writer ? new ProgressBar(totalSteps, `${loss.name}`, opts.progress) : undefined;
  const history: StepMetrics[] = [];
  let stopped = false;
  let savedAt = opts.resume ? state.step : -1;
  const ctx: StepContext = {
    policy, reference: referenceLogps, loss, config, needs, dtype, prompts, tokenizer, dataset, seed,
    tokenize: { maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength, device },
    refuse: (stepNo, where, what, records) =>
      new Error(
        `trainPreference: step ${stepNo} (${where}): ${what}; the batch's records are ${records}. The step was not applied` +
          (savedAt >= 0 && outDir ? `; the last checkpoint (step ${savedAt}) in ${outDir}/checkpoint is intact` : ''),
      ),
  };

  // With LoRA, the record of the base, taken at the first save (the base's own embeddings, which
  // LoRA never trains); a run that saves nothing reads nothing back for it.
  let adapterBase: AdapterBase | undefined;
  const adapterBaseOf = async () =>
    loraLayers(policy).length > 0 ? (adapterBase ??= { base_model_name_or_path: opts.baseModel ?? '', fingerprint: await baseFingerprint(policy) }) : undefined;
  const best = opts.metricForBestModel;
  const greater = opts.greaterIsBetter ?? !(best ?? '').endsWith('loss');
  const save = async () => {
    // The best checkpoint by an evaluation at this step, when one ran.
    const ev = best && evaluatedAt === state.step ? evalHistory.at(-1) : undefined;
    if (best && ev) {
      const v = ev[best];
      if (!Number.isFinite(v)) throw new Error(`trainPreference: metricForBestModel '${best}' is not among the evaluation's metrics (${Object.keys(ev).join(', ')})`);
      if (state.bestMetric === undefined || (greater ? v > state.bestMetric : v < state.bestMetric)) state = { ...state, bestMetric: v, bestCheckpoint: `checkpoint-${state.step}` };
    }
    if (writer) await saveTrainingCheckpoint(outDir!, policy, optimizer, state, tokenizer.path, await adapterBaseOf(), { limit: opts.saveTotalLimit, keep: state.bestCheckpoint });
    // No rank runs ahead while rank 0 writes: a rank failing in the next step cannot end the job mid-save.
    comm.barrier();
    savedAt = state.step;
  };

  const trainable = () => policy.parameters().filter((p) => p.requiresGrad);
  let inBackward: GradientSumInBackward | undefined;
  // The step's numbers from every rank, and its gradients summed: the step one process would take.
  let syncTimes: Record<string, number> | undefined;
  const sumAcrossRanks = async (local: StepOutcome): Promise<StepOutcome> => {
    const computed = performance.now();
    const reports = allGatherJson(comm, shareReport(local));
    const gathered = performance.now();
    const times = inBackward ? await inBackward.finish() : await sumGradients(comm, trainable(), bucketValues);
    // This rank's share, the wait for the slowest rank (the gather of the step's numbers), the gradient sum.
    syncTimes = { 'time/share_s': (computed - stepStarted) / 1000, 'time/wait_s': (gathered - computed) / 1000, 'time/grad_sync_s': times.wall, 'time/allreduce_s': times.reduce };
    const norm = tidy(() => totalGradNorm(policy.parameters()));
    const gradNorm = norm ? (await norm.data())[0] : 0;
    norm?.dispose();
    // The sums are the same bits on every rank, so is the flag; allTrue keeps the ranks in step regardless.
    if (!comm.allTrue(Number.isFinite(gradNorm))) throw ctx.refuse(state.step + 1, `${comm.size} ranks`, `the summed gradient norm is ${gradNorm}`, 'all of the step\'s');
    return combineReports(reports, accumulation, gradNorm);
  };
  let stepStarted = 0;
  try {
    while (state.step < totalSteps) {
      const stepNo = state.step + 1;
      const started = (stepStarted = performance.now());
      const plan = planStep({ epoch: state.epoch, batchInEpoch: state.batchInEpoch }, accumulation, planEpoch);
      let outcome: StepOutcome;
      faultPoint('step: start');
      try {
        // A rank's refusal (a NaN loss) is every rank's, naming it, before the gradient sum; in two
        // passes a failure before the rows' gather travels in it, so every rank reaches the gather.
        const when = `in step ${stepNo}`;
        // The gradient sum from backward's hook: its all-reduces are called (and their buffers filled) inside the share, before together's collectives.
        inBackward = share && sumStarts === 'backward' ? new GradientSumInBackward(comm, trainable(), bucketValues) : undefined;
        const own = share && { ...share, ...(inBackward ? { lastBackward: inBackward.backwardOptions } : {}) };
        const summing = <T>(fn: () => Promise<T>) => (inBackward ? inBackward.around(fn) : fn());
        outcome = !own ? await (twoPasses ? twoPassStep : singlePassStep)(ctx, stepNo, plan.micro)
          : twoPasses ? await together(comm, when, () => summing(() => twoPassStep(ctx, stepNo, plan.micro, { ...own, gather: (rows) => gatherRowsAcrossRanks(comm, rows, when) })))
          : await together(comm, when, () => summing(() => singlePassStep(ctx, stepNo, plan.micro, own)));
        if (share) outcome = await sumAcrossRanks(outcome);
      } catch (e) {
        optimizer.zeroGrad();
        throw e;
      }
      const { loss: lossValue, gradNorm } = outcome;
      optimizer.lr = opts.lr * lrFactor(schedule, state.step);
      const gradScale = maxGradNorm > 0 ? clipGradNormScale(gradNorm, maxGradNorm) : 1;
      tidy(() => optimizer.step(gradScale));
      optimizer.zeroGrad();
      faultPoint('step: applied');
      state = { ...state, ...plan.next, step: stepNo };
      const seconds = (performance.now() - started) / 1000;
      const m: StepMetrics = { step: stepNo, epoch: state.epoch, loss: lossValue, lr: optimizer.lr, grad_norm: gradNorm, 'tokens/s': outcome.tokens / Math.max(seconds, 1e-9) };
      if (syncTimes) Object.assign(m, syncTimes);
      for (const [k, v] of Object.entries(outcome.metrics)) m[k] = v;
      m['loss_rows/chosen'] = outcome.lossRows.chosen;
      m['loss_rows/rejected'] = outcome.lossRows.rejected;
      history.push(m);
      await together(comm, `after step ${stepNo}`, async () => {
        if (metricsPath) await appendFile(metricsPath, `${JSON.stringify(m)}\n`);
        faultPoint('step: metrics appended');
        opts.log?.(m);
        // A loss that couples rows (RPO's matrix) saw chosen × rejected rows at once.
        const cells = needs.meanOverPairs ? '' : ` rows=${outcome.lossRows.chosen}×${outcome.lossRows.rejected}`;
        bar?.update(stepNo, `loss=${lossValue.toFixed(4)}${cells}`);
      });
      // Apart from the step's line: an evaluation gathers across ranks, which a rank failing above must not enter.
      if (evalData && evalSteps > 0 && stepNo % evalSteps === 0) await together(comm, `in the evaluation after step ${stepNo}`, evaluate);
      if (outDir && opts.saveEvery && stepNo % opts.saveEvery === 0) await save();
      // Every rank stops at the same step when any was asked to.
      const abort = comm.size > 1 ? !comm.allTrue(!opts.signal?.aborted) : opts.signal?.aborted;
      if (abort && state.step < totalSteps) {
        stopped = true;
        break;
      }
    }
    if (evalData && evaluatedAt !== state.step && !stopped) await together(comm, 'in the last evaluation', evaluate);
    if (outDir && savedAt !== state.step) await save();
  } finally {
    optimizer.dispose();
  }
  return {
    steps: state.step, history, evalHistory, ...(outDir ? { checkpoint: join(outDir, 'checkpoint') } : {}), ...(stopped ? { stopped } : {}),
    ...(refCache ? { referenceCache: { rows: refCache.size, hits: refCache.hits, misses: refCache.misses } } : {}),
  };
}

/** The first key whose value differs between a checkpoint's record and this run's, described, or null. */
function firstDifference(was: Record<string, unknown>, now: Record<string, unknown>, where: string): string | null {
  for (const k of new Set([...Object.keys(was), ...Object.keys(now)])) {
    if (was[k] !== now[k]) return `${where}${k} = ${JSON.stringify(was[k])}, this run has ${JSON.stringify(now[k])}`;
  }
  return null;
}

/** The first trainer setting in which a checkpoint differs from this run, described, or null. */
function changedTrainerSetting(saved: TrainerConfig | undefined, now: TrainerConfig): string | null {
  return saved ? firstDifference({ ...saved }, { ...now }, '') : null;
}

/**
 * A checkpoint's loss options with the keys it predates filled in: what the run it came from
 * computed (the loss's formerDefaults, else today's defaults), so a key added since is no change.
 */
function withFormerDefaults(loss: string, config: Record<string, unknown>): Record<string, unknown> {
  let plugin;
  try {
    plugin = getLoss(loss).plugin;
  } catch {
    return config;
  }
  return { ...(plugin.defaults as Record<string, unknown>), ...(plugin.formerDefaults as Record<string, unknown> | undefined), ...config };
}

/** The first loss setting in which a checkpoint differs from this run, described, or null (older checkpoints recorded none). */
function changedLossSetting(saved: TrainerState, config: LossConfig, terms: MixedLoss['mixTerms'] | undefined): string | null {
  if (saved.lossConfig) {
    const d = firstDifference(withFormerDefaults(saved.loss, saved.lossConfig), config, `loss '${saved.loss}' option `);
    if (d) return d;
  }
  if (saved.lossTerms && terms) {
    if (saved.lossTerms.length !== terms.length) return `${saved.lossTerms.length} loss terms, this run has ${terms.length}`;
    for (const [i, t] of saved.lossTerms.entries()) {
      const now = terms[i];
      if (t.loss !== now.loss || t.weight !== now.weight) return `term ${i + 1} = ${t.weight}·${t.loss}, this run has ${now.weight}·${now.loss}`;
      const d = firstDifference(withFormerDefaults(t.loss, t.config), now.config, `term ${t.label}'s option `);
      if (d) return d;
    }
  }
  return null;
}

/**
 * The lines of metrics.jsonl a run resumed at `step` keeps: those up to the step. A torn last line
 * (the process killed while appending it) is dropped; a bad line elsewhere is an error naming it.
 */
export function keptMetricLines(text: string, step: number, path: string): string[] {
  const lines = text.split('\n').filter((l) => l.trim());
  const kept: string[] = [];
  for (const [i, l] of lines.entries()) {
    let m: StepMetrics;
    try {
      m = JSON.parse(l) as StepMetrics;
    } catch {
      if (i === lines.length - 1) break;
      throw new Error(`trainPreference: ${path}:${i + 1} is not a JSON line (only the last line can be torn by a kill); fix or remove it to resume`);
    }
    if (m.step <= step) kept.push(l);
  }
  return kept;
}
