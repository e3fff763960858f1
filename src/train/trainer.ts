// trainPreference: a preference-optimisation loop (docs/training.md). Per micro-batch (one or
// gradientAccumulationSteps per step): tokenize it (async, before any tensor work), then in one
// tidy(): policy sequence log-probs with gradient, reference log-probs under noGrad (a reference
// model, or the LoRA policy with adapters off), whatever else the loss needs, the loss, backward(),
// after the last micro-batch the total gradient norm; then one read-back of the loss, its metrics
// and the norm. Only a step whose losses and gradient are finite is applied (optimizer.step() at the
// scheduled lr, the gradient clipped inside the update), so a NaN/Inf step leaves the weights and
// every saved checkpoint as they were. Held-out evaluations run every evalSteps steps.
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tidy } from '../autograd/scope.js';
import { setDropoutState } from '../autograd/random.js';
import { ReferenceLogpsCache } from './reference-cache.js';
import { mix32 } from '../kernels/dropout/contract.js';
import { cast, mul } from '../kernels/elementwise/op.js';
import { concat, reshape } from '../kernels/copy/op.js';
import { getLoss } from '../losses/registry.js';
import { lossNeeds } from '../losses/checks.js';
import { type PreferenceDataset, recordLocation } from '../data/jsonl.js';
import { planPreferenceBatches, type IndexBatch } from '../data/batches.js';
import { tokenizePreferenceBatch } from '../data/tokenize.js';
import { ProgressBar } from '../cli/progress.js';
import { type AdamWOptions, type RMSpropOptions, clipGradNormScale, totalGradNorm } from '../kernels/optim/optimizers.js';
import { zerosLike } from '../autograd/create.js';
import { type LrSchedule, type LrSchedulerType, checkLrScheduler, lrFactor, warmupStepsOf } from './schedule.js';
import { modelDtype } from './sequence-logps.js';
import { type TrainBatch, buildBatch, disposeTokenized, referenceOf, sumLengths, tokenizeKlRows } from './batch.js';
import { type PreferenceRunOptions, evaluateLoss } from './evaluate.js';
import { PromptEmbeddingCache } from './prompt-embeddings.js';
import {
  findCheckpoint, loadOptimizer, loadPolicyWeights, makeOptimizer, readTrainerState, saveTrainingCheckpoint,
  type OptimizerName, type TrainerOptimizer, type TrainerState,
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
   * Micro-batches whose gradients add up to one optimizer step (default 1), each loss scaled by
   * 1/gradientAccumulationSteps as transformers does: a step sees batchSize × this many pairs.
   */
  gradientAccumulationSteps?: number;
  /** Optimizer steps in total (resumed runs count the steps already taken). Default: epochs × batches per epoch / gradientAccumulationSteps, rounded up. */
  steps?: number;
  /** Passes over the data, when steps is not given (default 1). */
  epochs?: number;
  /**
   * Run the reference over every record once before training and read its log-probs from a cache
   * in the steps (TRL's precompute_ref_log_probs): no reference forward per step. Not for losses
   * with KL pairs (KTO). Default false.
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
  /** Continue from outDir/checkpoint (weights, optimizer state, data position). */
  resume?: boolean;
  /** Called with each step's metrics. */
  log?: (metrics: StepMetrics) => void;
  /** A progress bar on stderr. */
  progress?: boolean;
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
}

export async function trainPreference(opts: TrainPreferenceOptions): Promise<TrainPreferenceResult> {
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
    throw new Error(`trainPreference: loss '${loss.name}' needs reference log-probs under config ${JSON.stringify(config)}; pass a frozen reference model (e.g. a second loadPretrainedLlama of the starting checkpoint), or train LoRA adapters (applyLora) so the base model serves as the reference`);
  }
  if (needs.klEstimate && !referenceLogps) throw new Error(`trainPreference: loss '${loss.name}' needs a KL estimate under a reference model; pass reference`);
  if (opts.precomputeRefLogps && needs.klEstimate) {
    throw new Error(`trainPreference: precomputeRefLogps does not cover loss '${loss.name}': its KL pairs change with every batch's composition, so the reference must run each step`);
  }
  if (reference === policy) throw new Error('trainPreference: reference must be a separate, frozen model, not the policy itself');
  if (!loss.data[dataset.paired ? 'paired' : 'unpaired']) {
    throw new Error(`trainPreference: loss '${loss.name}' does not take ${dataset.paired ? 'paired' : 'unpaired'} data (${dataset.path})`);
  }
  if (opts.saveEvery !== undefined && (!Number.isInteger(opts.saveEvery) || opts.saveEvery < 1)) throw new Error(`trainPreference: saveEvery must be a positive integer, got ${opts.saveEvery}`);
  if (opts.resume && !outDir) throw new Error('trainPreference: resume needs outDir (where the checkpoint is)');
  const evalSteps = opts.evalSteps ?? 0;
  if (!Number.isInteger(evalSteps) || evalSteps < 0) throw new Error(`trainPreference: evalSteps must be a non-negative integer, got ${evalSteps}`);
  const evalData = opts.evalDataset;
  if (evalData && evalData.paired !== dataset.paired) {
    throw new Error(`trainPreference: the eval data (${evalData.path}) is ${evalData.paired ? 'paired' : 'unpaired'} but the training data (${dataset.path}) is not`);
  }
  if (evalData && evalData.records.length === 0) throw new Error(`trainPreference: the eval data (${evalData.path}) has no records`);

  const plan = (epoch: number): IndexBatch[] => planPreferenceBatches(dataset, { batchSize, seed, epoch, shuffle });
  const epochs = opts.epochs ?? 1;
  const accumulation = opts.gradientAccumulationSteps ?? 1;
  if (!Number.isInteger(accumulation) || accumulation < 1) throw new Error(`trainPreference: gradientAccumulationSteps must be a positive integer, got ${accumulation}`);
  const totalSteps = opts.steps ?? Math.ceil((epochs * plan(0).length) / accumulation);
  if (!Number.isInteger(totalSteps) || totalSteps < 0) throw new Error(`trainPreference: steps must be a non-negative integer, got ${totalSteps}`);
  const maxGradNorm = opts.maxGradNorm ?? 1;
  if (!Number.isFinite(maxGradNorm) || maxGradNorm < 0) throw new Error(`trainPreference: maxGradNorm must be a finite number ≥ 0 (0: no clipping), got ${maxGradNorm}`);
  let schedule: LrSchedule;
  try {
    schedule = { type: checkLrScheduler(opts.lrScheduler ?? 'linear'), warmupSteps: warmupStepsOf(totalSteps, opts.warmupSteps, opts.warmupRatio), totalSteps };
  } catch (e) {
    throw new Error(`trainPreference: ${(e as Error).message}`);
  }

  let state: TrainerState = { step: 0, epoch: 0, batchInEpoch: 0, seed, dataset: dataset.path, loss: loss.name };
  let optimizer: TrainerOptimizer;
  const metricsPath = outDir ? join(outDir, 'metrics.jsonl') : undefined;
  if (outDir) await mkdir(outDir, { recursive: true });
  if (opts.resume) {
    const dir = await findCheckpoint(outDir!);
    if (!dir) throw new Error(`trainPreference: resume is set but ${outDir} holds no checkpoint (checkpoint/trainer_state.json)`);
    state = await readTrainerState(dir);
    if (state.seed !== seed || state.loss !== loss.name) {
      throw new Error(`trainPreference: ${dir} was written with seed ${state.seed} and loss '${state.loss}', this run has seed ${seed} and loss '${loss.name}'`);
    }
    await loadPolicyWeights(dir, policy);
    optimizer = await loadOptimizer(dir, policy);
    optimizer.lr = opts.lr;
    // Metrics of steps after the checkpoint are redone: drop their lines.
    const old = await readFile(metricsPath!, 'utf8').catch(() => '');
    const kept = old.split('\n').filter((l) => l.trim() && (JSON.parse(l) as StepMetrics).step <= state.step);
    await writeFile(metricsPath!, kept.map((l) => `${l}\n`).join(''));
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
      tokenize: { maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength }, prompts: evalPrompts,
    });
    const m: EvalMetrics = { step: state.step, epoch: state.epoch, eval_loss: NaN, eval_samples: samples };
    for (const [k, v] of means) m[`eval_${k}`] = v;
    evalHistory.push(m);
    evaluatedAt = state.step;
    if (metricsPath) await appendFile(metricsPath, `${JSON.stringify(m)}\n`);
    opts.onEval?.(m);
  };
  if (refCache && needs.reference) {
    // One pass of the reference over the training records (and the eval records), before step 1.
    const tokenize = { maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength, device };
    const sets = evalData ? [dataset, evalData] : [dataset];
    const preBatch = opts.evalBatchSize ?? batchSize;
    const total = sets.reduce((n, d) => n + planPreferenceBatches(d, { batchSize: preBatch, shuffle: false }).length, 0);
    const pre = opts.progress ? new ProgressBar(total, 'reference log-probs') : undefined;
    let before = 0;
    for (const data of sets) {
      let last = 0;
      await refCache.fill(tokenizer, data, preBatch, tokenize, (done) => pre?.update(before + (last = done)));
      before += last;
    }
  }
  const bar = opts.progress ? new ProgressBar(totalSteps, `${loss.name}`) : undefined;
  const history: StepMetrics[] = [];
  let savedAt = opts.resume ? state.step : -1;
  let batches = plan(state.epoch);

  const save = async () => {
    await saveTrainingCheckpoint(outDir!, policy, optimizer, state, tokenizer.path);
    savedAt = state.step;
  };

  try {
    while (state.step < totalSteps) {
      const stepNo = state.step + 1;
      const started = performance.now();
      // The step's micro-batches: the next gradientAccumulationSteps batches of the data order,
      // across an epoch boundary if need be. The position is committed once the step is applied.
      let cursor = { epoch: state.epoch, batchInEpoch: state.batchInEpoch };
      let names: string[] = [];
      const sums: number[] = [];
      let gradNorm = 0;
      let tokens = 0;
      try {
        for (let micro = 0; micro < accumulation; micro++) {
          if (cursor.batchInEpoch >= batches.length) {
            cursor = { epoch: cursor.epoch + 1, batchInEpoch: 0 };
            batches = plan(cursor.epoch);
          }
          const index = batches[cursor.batchInEpoch];
          const tokOptions = { maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength, device };
          const tok: TrainBatch = await tokenizePreferenceBatch(tokenizer, dataset, index, tokOptions);
          let values: Float32Array | Float64Array;
          try {
            if (needs.klEstimate) tok.kl = await tokenizeKlRows(tokenizer, dataset, index, tokOptions);
            if (prompts) await prompts.fill([...tok.chosenPromptIds, ...tok.rejectedPromptIds]);
            const last = micro === accumulation - 1;
            // Dropout masks (LoRA's lora_dropout) from a stream set by (seed, step, micro-batch):
            // a resumed run drops the same elements as an uninterrupted one.
            setDropoutState(mix32(mix32(seed ^ 0x5bd1e995) ^ (stepNo * 64 + micro)));
            policy.train();
            const packed = tidy(() => {
              const batch = buildBatch(tok, policy, referenceLogps, needs, dtype, prompts);
              const out = loss.compute(batch, config);
              // Gradients add up over the micro-batches: each counts 1/accumulation (as transformers).
              (accumulation === 1 ? out.loss : mul(out.loss, 1 / accumulation)).backward();
              names = Object.keys(out.metrics);
              // After the last micro-batch the total gradient norm rides along in the same read-back
              // (clipping needs it on the host).
              const norm = (last ? totalGradNorm(policy.parameters()) : null) ?? zerosLike(out.loss);
              const scalars = [out.loss, ...names.map((k) => out.metrics[k]), norm].map((t) => reshape(cast(t, out.loss.dtype), [1]));
              return concat(scalars, 0);
            });
            values = (await packed.data()) as Float32Array | Float64Array;
            packed.dispose();
          } finally {
            disposeTokenized(tok);
          }
          const lossValue = values[0];
          const lastMicro = micro === accumulation - 1;
          if (lastMicro) gradNorm = values[names.length + 1];
          if (!Number.isFinite(lossValue) || (lastMicro && !Number.isFinite(gradNorm))) {
            const where = index.indices.map((i) => recordLocation(dataset, dataset.records[i]));
            throw new Error(
              `trainPreference: step ${stepNo} (epoch ${cursor.epoch}, batch ${cursor.batchInEpoch}${accumulation > 1 ? `, micro-batch ${micro + 1} of ${accumulation}` : ''}): ` +
                `${Number.isFinite(lossValue) ? `the gradient norm is ${gradNorm}` : `loss is ${lossValue}`}; ` +
                `the batch's records are ${where.join(', ')}. The step was not applied` +
                (savedAt >= 0 && outDir ? `; the last checkpoint (step ${savedAt}) in ${outDir}/checkpoint is intact` : ''),
            );
          }
          for (let i = 0; i <= names.length; i++) sums[i] = (sums[i] ?? 0) + values[i] / accumulation;
          tokens += sumLengths(tok.chosen) + sumLengths(tok.rejected);
          cursor = { ...cursor, batchInEpoch: cursor.batchInEpoch + 1 };
        }
      } catch (e) {
        optimizer.zeroGrad();
        throw e;
      }
      optimizer.lr = opts.lr * lrFactor(schedule, state.step);
      const gradScale = maxGradNorm > 0 ? clipGradNormScale(gradNorm, maxGradNorm) : 1;
      tidy(() => optimizer.step(gradScale));
      optimizer.zeroGrad();
      state = { ...state, ...cursor, step: stepNo };
      const lossValue = sums[0];

      const seconds = (performance.now() - started) / 1000;
      const m: StepMetrics = { step: stepNo, epoch: state.epoch, loss: lossValue, lr: optimizer.lr, grad_norm: gradNorm, 'tokens/s': tokens / Math.max(seconds, 1e-9) };
      names.forEach((k, i) => (m[k] = sums[i + 1]));
      history.push(m);
      if (metricsPath) await appendFile(metricsPath, `${JSON.stringify(m)}\n`);
      opts.log?.(m);
      bar?.update(stepNo, `loss=${lossValue.toFixed(4)}`);
      if (evalData && evalSteps > 0 && stepNo % evalSteps === 0) await evaluate();
      if (outDir && opts.saveEvery && stepNo % opts.saveEvery === 0) await save();
    }
    if (evalData && evaluatedAt !== state.step) await evaluate();
    if (outDir && savedAt !== state.step) await save();
  } finally {
    optimizer.dispose();
  }
  return {
    steps: state.step, history, evalHistory, ...(outDir ? { checkpoint: join(outDir, 'checkpoint') } : {}),
    ...(refCache ? { referenceCache: { rows: refCache.size, hits: refCache.hits, misses: refCache.misses } } : {}),
  };
}
