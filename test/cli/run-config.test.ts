// relpo train --config: TRL's DPOConfig names and relpo's flags from YAML or JSON, the command line
// over the file over the defaults, warnings for TRL options relpo does not act on, errors for the rest.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagsGiven, parseFlags } from '../../src/cli/args.js';
import { TRAIN_FLAGS } from '../../src/cli/train.js';
import { formatRunConfig, resolveRun } from '../../src/cli/run-config.js';
import { lossFromFlags } from '../../src/cli/loss-flags.js';
import * as r from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'relpo-run-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const resolve = (argv: string[]) => resolveRun(parseFlags(argv, TRAIN_FLAGS, 'train'), flagsGiven(argv), TRAIN_FLAGS);

const DPO_YAML = `# a TRL DPOConfig, as TRL's examples write them
learning_rate: 5.0e-7
per_device_train_batch_size: 2
gradient_accumulation_steps: 8
num_train_epochs: 3
max_steps: -1
lr_scheduler_type: cosine
warmup_ratio: 0.1
beta: 0.5
loss_type: [sigmoid, bco_pair]
loss_weights: [1.0, 0.5]
max_length: 1024
max_prompt_length: 512
output_dir: runs/dpo-from-trl
save_steps: 50
seed: 42
gradient_checkpointing: true
use_peft: true
lora_target_modules: [q_proj, k_proj, v_proj]
bf16: true
logging_steps: 10
report_to: none
contrast_scope: micro-batch
`;

test("TRL's names map to relpo train's flags; TRL options relpo does not act on are warned about by name", (t) => {
  const run = resolve(['--config', file('dpo.yaml', DPO_YAML)]);
  t.like(run.flags, {
    lr: 5e-7, batch: 2, 'gradient-accumulation-steps': 8, epochs: '3', steps: '', 'lr-scheduler': 'cosine', 'warmup-ratio': 0.1,
    beta: '0.5', 'loss-type': 'sigmoid,bco_pair', 'loss-weights': '1,0.5', 'max-length': 1024, 'max-prompt-length': '512',
    out: 'runs/dpo-from-trl', 'save-every': 50, seed: 42, 'gradient-checkpointing': true, 'lora-r': 16, 'lora-targets': 'q_proj,k_proj,v_proj',
    'contrast-scope': 'micro-batch',
  });
  t.regex(run.sources.lr, /dpo\.yaml \(learning_rate\)$/);
  t.regex(run.sources['lora-r'], /\(use_peft\)$/);
  t.is(run.sources.loss, 'default');
  t.deepEqual(run.warnings.map((w) => /'(\w+)'/.exec(w)![1]), ['bf16', 'logging_steps', 'report_to']);
});

test('the command line overrides the file, which overrides the defaults; a loss on the command line replaces the file\'s', (t) => {
  const run = resolve(['--config', file('dpo2.yaml', DPO_YAML), '--beta', '0.2', '--loss', 'rpo', '--seed', '7']);
  t.like(run.flags, { beta: '0.2', loss: 'rpo', 'loss-type': '', 'loss-weights': '', seed: 7, lr: 5e-7 });
  t.is(run.sources.beta, 'command line');
  t.true(run.warnings.some((w) => /'loss_type' replaced by the command line's loss/.test(w)));
  const printed = formatRunConfig(run, TRAIN_FLAGS);
  t.regex(printed, /--beta +"0\.2" +command line/);
  t.regex(printed, /--lr +5e-7 +\S*dpo2\.yaml \(learning_rate\)/);
  t.regex(printed, /--max-grad-norm +1 +default/);
});

test('JSON works too; unknown keys are errors with the nearest name; wrong types name the key and the flag', (t) => {
  t.like(resolve(['--config', file('run.json', JSON.stringify({ learning_rate: 0.001, loss: 'kto', optim: 'adamw_torch', loss_config: { beta: 0.3 } }))]).flags, {
    lr: 0.001, loss: 'kto', optimizer: 'adamw', 'loss-config': '{"beta":0.3}',
  });
  t.throws(() => resolve(['--config', file('typo.yaml', 'learning_rat: 1e-5\n')]), { message: /typo\.yaml: unknown option 'learning_rat' \(did you mean 'learning_rate'\?\)/ });
  t.throws(() => resolve(['--config', file('type.yaml', 'per_device_train_batch_size: two\n')]), { message: /type\.yaml: 'per_device_train_batch_size' \(--batch\) must be a number, got "two"/ });
  t.throws(() => resolve(['--config', file('opt.yaml', 'optim: adafactor\n')]), { message: /optim 'adafactor' is not one relpo has/ });
  t.throws(() => resolve(['--config', file('bad.yaml', 'a: [1\n')]), { message: /bad\.yaml: not valid YAML/ });
  t.throws(() => resolve(['--config', join(dir, 'missing.yaml')]), { message: /--config: cannot read .*missing\.yaml/ });
});

test("TRL's loss hyper-parameters reach the loss: rpo_alpha as --nll-alpha, f_divergence_type, cpo_alpha, alpha … into --loss-config", (t) => {
  const cpo = resolve(['--config', file('cpo.yaml', 'trl_trainer: cpo\nloss_type: simpo\ncpo_alpha: 0.5\nsimpo_gamma: 1.0\nalpha: 0.25\nbeta: 2.0\n')]);
  t.like(cpo.flags, { 'trl-trainer': 'cpo', 'loss-type': 'simpo', beta: '2' });
  t.deepEqual(JSON.parse(String(cpo.flags['loss-config'])), { cpo_alpha: 0.5, simpo_gamma: 1, alpha: 0.25 });
  t.regex(cpo.sources['loss-config'], /cpo\.yaml \(cpo_alpha, simpo_gamma, alpha\)$/);
  const dpo = resolve(['--config', file('fdpo.yaml', 'loss_type: sigmoid\nrpo_alpha: 0.2\nf_divergence_type: js_divergence\nloss_config: {label_smoothing: 0.1}\n')]);
  t.like(dpo.flags, { 'nll-alpha': '0.2' });
  t.deepEqual(JSON.parse(String(dpo.flags['loss-config'])), { label_smoothing: 0.1, f_divergence_type: 'js_divergence' });
  t.deepEqual(dpo.warnings, []);
  t.throws(() => resolve(['--config', file('twice.yaml', 'alpha: 0.1\nloss_config: alpha=0.2\n')]), { message: /'alpha' is given both on its own and in loss_config/ });
  // WPO and LD-DPO are loss options of every DPO loss type that TRL gives them to, no longer ignored keys.
  const wpo = resolve(['--config', file('wpo.yaml', 'loss_type: [hinge, ipo]\nuse_weighting: true\nld_alpha: 0.5\n')]);
  t.deepEqual(JSON.parse(String(wpo.flags['loss-config'])), { use_weighting: true, ld_alpha: 0.5 });
  t.deepEqual(wpo.warnings, []);
  // TRL's [sigmoid, sft] with ld_alpha: the DPO term weighs the verbose part, the sft term reads every token.
  const ld = resolve(['--config', file('ld-sft.yaml', 'loss_type: [sigmoid, sft]\nloss_weights: [1.0, 0.2]\nld_alpha: 0.5\n')]);
  t.deepEqual(ld.warnings, []);
  const mix = r.getLoss(lossFromFlags(ld.flags, 'rpo').loss).plugin as r.MixedLoss;
  t.deepEqual(mix.mixTerms.map((x) => [x.loss, x.weight, x.config.ldAlpha]), [['dpo', 1, 0.5], ['sft', 0.2, undefined]]);
  t.like(mix.needs, { verboseWeight: 0.5, unweightedLogps: true });
});
