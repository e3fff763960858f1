// `relpo train --config run.yaml|run.json`: a run's options from a file, under TRL's names
// (DPOConfig / TrainingArguments, and PEFT's ModelConfig keys TRL's scripts read) where TRL has one,
// and relpo's own flag names (snake_case or kebab-case) for the rest. Flags given on the command line
// override the file, which overrides the defaults; --print-config shows where each value came from.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { nearestName } from '../losses/config.js';
import type { FlagSpec, Flags } from './args.js';

type Value = string | number | boolean;
type Raw = unknown;

/** TRL's name → relpo train's flag, with a conversion where the meaning or the form differs. */
const TRL_KEYS: Record<string, { flag: string; value?: (v: Raw, file: string) => Raw }> = {
  learning_rate: { flag: 'lr' },
  per_device_train_batch_size: { flag: 'batch' },
  per_device_eval_batch_size: { flag: 'eval-batch' },
  gradient_accumulation_steps: { flag: 'gradient-accumulation-steps' },
  num_train_epochs: { flag: 'epochs' },
  // TRL's max_steps −1 means: from the epochs.
  max_steps: { flag: 'steps', value: (v) => (v === -1 ? undefined : v) },
  lr_scheduler_type: { flag: 'lr-scheduler' },
  warmup_ratio: { flag: 'warmup-ratio' },
  warmup_steps: { flag: 'warmup-steps' },
  max_grad_norm: { flag: 'max-grad-norm' },
  ddp_bucket_cap_mb: { flag: 'ddp-bucket-cap-mb' },
  weight_decay: { flag: 'weight-decay' },
  adam_beta1: { flag: 'adam-beta1' },
  adam_beta2: { flag: 'adam-beta2' },
  adam_epsilon: { flag: 'adam-epsilon' },
  optim: { flag: 'optimizer', value: (v, file) => optimizerOf(v, file) },
  beta: { flag: 'beta' },
  label_smoothing: { flag: 'label-smoothing' },
  loss_type: { flag: 'loss-type' },
  // Pang et al.'s NLL term (TRL calls it RPO; relpo's RPO is another method): α × sft.
  rpo_alpha: { flag: 'nll-alpha' },
  loss_weights: { flag: 'loss-weights' },
  max_length: { flag: 'max-length' },
  max_prompt_length: { flag: 'max-prompt-length' },
  output_dir: { flag: 'out' },
  save_steps: { flag: 'save-every' },
  save_total_limit: { flag: 'save-total-limit' },
  metric_for_best_model: { flag: 'metric-for-best-model', value: (v) => (typeof v === 'string' && !v.startsWith('eval_') ? `eval_${v}` : v) },
  eval_steps: { flag: 'eval-steps' },
  seed: { flag: 'seed' },
  gradient_checkpointing: { flag: 'gradient-checkpointing' },
  precompute_ref_log_probs: { flag: 'precompute-ref-log-probs' },
  model_name_or_path: { flag: 'model' },
  dataset_name: { flag: 'data' },
  dataset_train_split: { flag: 'split' },
  lora_target_modules: { flag: 'lora-targets' },
  // QLoRA as TRL's scripts ask for it (bitsandbytes' 4-bit NF4): the base held in NF4.
  load_in_4bit: { flag: 'base-dtype', value: (v) => (v === true ? 'nf4' : undefined) },
};

/** TRL / transformers keys relpo train does not act on: named in a warning, not an error. */
const TRL_IGNORED = new Set([
  'bf16', 'fp16', 'tf32', 'bf16_full_eval', 'fp16_full_eval', 'logging_steps', 'logging_strategy', 'logging_first_step', 'logging_dir',
  'report_to', 'run_name', 'push_to_hub', 'hub_model_id', 'hub_strategy', 'hub_private_repo', 'save_strategy', 'load_best_model_at_end', 'greater_is_better',
  'save_only_model', 'eval_strategy', 'evaluation_strategy', 'do_train', 'do_eval', 'overwrite_output_dir', 'gradient_checkpointing_kwargs',
  'dataloader_num_workers', 'dataloader_pin_memory', 'dataloader_drop_last', 'remove_unused_columns', 'ddp_find_unused_parameters',
  'torch_dtype', 'attn_implementation', 'use_liger_kernel', 'trust_remote_code', 'model_revision', 'dataset_test_split', 'dataset_config',
  'generate_during_eval', 'truncation_mode', 'padding_value', 'dataset_num_proc', 'use_logits_to_keep', 'padding_free',
  'ref_model_init_kwargs', 'model_init_kwargs', 'sync_ref_model', 'ref_model_mixup_alpha', 'ref_model_sync_steps',
  'reference_free', 'force_use_ref_model', 'disable_dropout', 'label_pad_token_id',
  'max_completion_length', 'lora_task_type', 'lora_modules_to_save', 'use_rslora', 'use_dora', 'load_in_8bit', 'bnb_4bit_quant_type',
  'use_bnb_nested_quant', 'num_proc', 'log_level', 'logging_nan_inf_filter', 'seed_data', 'data_seed', 'group_by_length', 'local_rank',
  'deepspeed', 'fsdp', 'fsdp_config', 'optim_args', 'adam_beta', 'lr_scheduler_kwargs', 'save_safetensors', 'include_tokens_per_second',
  'torch_compile', 'use_cpu', 'no_cuda', 'tools',
]);

/** TRL's loss hyper-parameters that are relpo loss options of the same name: they go to --loss-config. */
const TRL_LOSS_OPTIONS = new Set([
  'f_divergence_type', 'f_alpha_divergence_coef', 'discopop_tau', 'cpo_alpha', 'simpo_gamma', 'alpha', 'desirable_weight', 'undesirable_weight',
  'use_weighting', 'ld_alpha',
]);

function optimizerOf(v: Raw, file: string): Raw {
  if (typeof v !== 'string') return v;
  if (/^adamw/.test(v)) return 'adamw';
  if (v === 'rmsprop') return 'rmsprop';
  throw new Error(`${file}: optim '${v}' is not one relpo has (adamw_torch and the other AdamW names train with AdamW; rmsprop)`);
}

export type Source = 'default' | 'command line' | string;

export interface ResolvedRun {
  flags: Flags;
  /** Where each flag's value came from: 'default', 'command line' or the config file (with its key). */
  sources: Record<string, Source>;
  warnings: string[];
}

/** The file's keys as relpo train's flags (in its own order), with the warnings for keys relpo does not act on. */
export function readRunConfig(path: string, specs: FlagSpec[]): { values: Map<string, { value: Value; key: string }>; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`--config: cannot read ${path} (${(e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`${path}: not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${path}: the config must be a mapping of option: value`);
  const byFlag = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, { value: Value; key: string }>();
  const warnings: string[] = [];
  const entries = Object.entries(doc as Record<string, Raw>);
  const lossOptions: [string, Raw][] = [];
  for (const [key, raw] of entries) {
    if (key === 'use_peft') continue; // below
    if (TRL_LOSS_OPTIONS.has(key)) {
      if (raw !== null && raw !== undefined) lossOptions.push([key, raw]);
      continue;
    }
    const trl = TRL_KEYS[key];
    const flag = trl?.flag ?? key.replace(/_/g, '-');
    const spec = byFlag.get(flag);
    if (!spec || flag === 'config' || flag === 'print-config') {
      if (TRL_IGNORED.has(key)) {
        warnings.push(`${path}: '${key}' is a TRL option relpo train does not act on; ignored`);
        continue;
      }
      const names = [...Object.keys(TRL_KEYS), ...specs.map((s) => s.name.replace(/-/g, '_'))];
      const near = nearestName(key, names);
      throw new Error(`${path}: unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; TRL's names (learning_rate, per_device_train_batch_size, beta, loss_type, …) and relpo train's flags (relpo train --help) are known`);
    }
    const value = trl?.value ? trl.value(raw, path) : raw;
    if (value === undefined || value === null) continue;
    values.set(flag, { value: typed(value, spec, key, path), key });
  }
  if (lossOptions.length) values.set('loss-config', withLossOptions(values.get('loss-config'), lossOptions, path));
  // PEFT as TRL's scripts turn it on: use_peft with lora_r (TRL's default rank 16), or off.
  const peft = (doc as Record<string, Raw>).use_peft;
  if (peft !== undefined) {
    if (peft === false) values.set('lora-r', { value: 0, key: 'use_peft' });
    else if (!values.has('lora-r')) values.set('lora-r', { value: 16, key: 'use_peft' });
  }
  return { values, warnings };
}

/** The file's loss_config (key=value text or JSON) with TRL's loss keys added; a key in both is an error. */
function withLossOptions(given: { value: Value; key: string } | undefined, options: [string, Raw][], file: string): { value: Value; key: string } {
  for (const [k, v] of options) if (!['string', 'number', 'boolean'].includes(typeof v)) throw new Error(`${file}: '${k}' must be a number, a boolean or text, got ${JSON.stringify(v)}`);
  const text = given ? String(given.value).trim() : '';
  const merged: Record<string, Raw> = text.startsWith('{') ? JSON.parse(text) : {};
  if (text && !text.startsWith('{')) {
    for (const part of text.split(',')) {
      const eq = part.indexOf('=');
      merged[eq > 0 ? part.slice(0, eq).trim() : part] = eq > 0 ? part.slice(eq + 1).trim() : '';
    }
  }
  for (const [k, v] of options) {
    if (k in merged) throw new Error(`${file}: '${k}' is given both on its own and in loss_config`);
    merged[k] = v;
  }
  return { value: JSON.stringify(merged), key: [given?.key, ...options.map(([k]) => k)].filter(Boolean).join(', ') };
}

function typed(v: Raw, spec: FlagSpec, key: string, file: string): Value {
  const want = typeof spec.default;
  const bad = () => new Error(`${file}: '${key}' (--${spec.name}) must be ${want === 'number' ? 'a number' : want === 'boolean' ? 'true or false' : 'text'}, got ${JSON.stringify(v)}`);
  if (want === 'boolean') {
    if (typeof v !== 'boolean') throw bad();
    return v;
  }
  if (want === 'number') {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw bad();
    return n;
  }
  if (Array.isArray(v)) {
    if (!v.every((x) => ['string', 'number'].includes(typeof x))) throw bad();
    return v.join(',');
  }
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  // A mapping (loss_config: {tau: 0.25}) is the JSON form the flag takes.
  if (v && typeof v === 'object') return JSON.stringify(v);
  throw bad();
}

/**
 * The run's flags: the command line's where given, else the config file's, else the defaults. A
 * loss chosen on the command line (--loss or --loss-type) replaces the file's choice of loss.
 */
export function resolveRun(flags: Flags, given: ReadonlySet<string>, specs: FlagSpec[]): ResolvedRun {
  const sources: Record<string, Source> = {};
  for (const s of specs) sources[s.name] = given.has(s.name) ? 'command line' : 'default';
  const path = String(flags.config ?? '');
  if (!path) return { flags, sources, warnings: [] };
  const { values, warnings } = readRunConfig(path, specs);
  return applyLayer({ flags, sources, warnings }, given, values, path);
}

/** The flags a run recorded in its checkpoint (runConfig) under what the command line and a config file do not set. */
export function withCheckpointFlags(run: ResolvedRun, recorded: Record<string, Value>, checkpoint: string): ResolvedRun {
  const values = new Map<string, { value: Value; key: string }>();
  for (const [flag, value] of Object.entries(recorded)) if (run.sources[flag] === 'default' && !RUN_LENGTH.has(flag)) values.set(flag, { value, key: flag });
  return applyLayer(run, new Set(), values, checkpoint);
}

/** What a resumed run may set anew: how long it runs, where it saves and evaluates, the device. */
const RUN_LENGTH = new Set(['steps', 'epochs', 'save-every', 'eval-steps', 'resume', 'out', 'config', 'print-config', 'device']);

function applyLayer(run: ResolvedRun, given: ReadonlySet<string>, values: Map<string, { value: Value; key: string }>, path: string): ResolvedRun {
  const { flags, warnings } = run;
  const sources = { ...run.sources };
  const out: Flags = { ...flags };
  const lossOnCommandLine = given.has('loss') || given.has('loss-type');
  for (const [flag, { value, key }] of values) {
    if (given.has(flag)) continue;
    if (lossOnCommandLine && ['loss', 'loss-type', 'loss-weights', 'trl-trainer'].includes(flag)) {
      warnings.push(`${path}: '${key}' replaced by the command line's loss`);
      continue;
    }
    out[flag] = value;
    sources[flag] = `${path} (${key})`;
  }
  return { flags: out, sources, warnings: [...warnings] };
}

/** The flags a run records in its checkpoint, so that --resume can restore them. */
export function recordedFlags(flags: Flags): Record<string, Value> {
  return Object.fromEntries(Object.entries(flags).filter(([k]) => !RUN_LENGTH.has(k)));
}

/** --print-config: every option, its value and where it came from. */
export function formatRunConfig(run: ResolvedRun, specs: FlagSpec[]): string {
  const rows = specs.filter((s) => !['print-config', 'config'].includes(s.name)).map((s) => {
    const v = run.flags[s.name];
    return `  --${s.name.padEnd(28)} ${JSON.stringify(v).padEnd(24)} ${run.sources[s.name]}`;
  });
  return `relpo train, resolved options (value, where it came from):\n${rows.join('\n')}\n`;
}
