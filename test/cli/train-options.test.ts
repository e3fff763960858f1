// relpo train's run options (in a file of their own: a CLI test file whose tests each spawn runs
// takes minutes, and ava runs files in parallel): contrast scope, loss options, config files, hub
// ids, resume restoring options, Ctrl-C.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, relpo } from '../helpers/cli.js';

test('relpo train --batch 2 --gradient-accumulation-steps 8: rpo contrasts the step\'s 16 × 16 rows; --contrast-scope micro-batch keeps 2 × 2', (t) => {
  const rows = (extra: string[]) => {
    const out = join(mkdtempSync(join(tmpdir(), 'relpo-cli-scope-')), 'run');
    const run = relpo('train', '--device', 'cpu', '--loss', 'rpo', '--batch', '2', '--gradient-accumulation-steps', '8', '--steps', '1', '--out', out, ...extra);
    t.is(run.status, 0, run.stderr);
    const m = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim()) as Record<string, number>;
    return { m, stderr: run.stderr };
  };
  const step = rows([]);
  t.like(step.m, { 'loss_rows/chosen': 16, 'loss_rows/rejected': 16 });
  t.regex(step.stderr, /rows=16×16/);
  t.like(rows(['--contrast-scope', 'micro-batch']).m, { 'loss_rows/chosen': 2, 'loss_rows/rejected': 2 });
  const bad = relpo('train', '--device', 'cpu', '--steps', '1', '--contrast-scope', 'batch');
  t.not(bad.status, 0);
  t.regex(bad.stderr, /relpo train: --contrast-scope must be one of step, micro-batch, got "batch"/);
  // Every flag is checked against its type and range before any work, wherever the value came from.
  for (const [flag, value, message] of [
    ['--device', 'foo', /--device must be one of webgpu, cpu, auto, got "foo"/],
    ['--lora-r', '-1', /--lora-r must be an integer ≥ 0, got -1/],
    ['--batch', '2.5', /--batch must be an integer ≥ 1, got 2\.5/],
    ['--lora-dropout', '1', /--lora-dropout must be a number ≥ 0 and < 1, got 1/],
    ['--optimizer', 'sgd', /--optimizer must be one of adamw, rmsprop, got "sgd"/],
  ] as const) {
    const run = relpo('train', flag, value, '--steps', '1');
    t.not(run.status, 0, `${flag} ${value}`);
    t.regex(run.stderr, message);
  }
  const dir = mkdtempSync(join(tmpdir(), 'relpo-cli-check-'));
  writeFileSync(join(dir, 'run.yaml'), 'per_device_train_batch_size: 0\n');
  t.regex(relpo('train', '--config', join(dir, 'run.yaml')).stderr, /relpo train: --batch must be an integer ≥ 1, got 0/);
});

test('loss options reach the loss: relpo train --beta records it; relpo eval --loss-type sigmoid --beta --label-smoothing gives the library\'s dpo loss', async (t) => {
  const train = (seed: string) => {
    const out = join(mkdtempSync(join(tmpdir(), 'relpo-cli-beta-')), 'run');
    const run = relpo('train', '--device', 'cpu', '--loss', 'dpo', '--beta', '0.5', '--steps', '1', '--seed', seed, '--out', out);
    t.is(run.status, 0, run.stderr);
    t.regex(run.stdout, /loss dpo \(beta=0\.5 labelSmoothing=0 fDivergenceType=reverse_kl fAlphaDivergenceCoef=0\.5 useWeighting=false ldAlpha=1\)/);
    t.like(JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')), { lossConfig: { beta: 0.5, labelSmoothing: 0 } });
    return join(out, 'checkpoint');
  };
  const [a, b] = [train('1'), train('2')];
  const ev = relpo('eval', '--device', 'cpu', '--model', a, '--reference', b, '--loss-type', 'sigmoid', '--beta', '0.3', '--label-smoothing', '0.1');
  t.is(ev.status, 0, ev.stderr);
  t.regex(ev.stdout, /loss dpo \(beta=0\.3 labelSmoothing=0\.1 fDivergenceType=reverse_kl fAlphaDivergenceCoef=0\.5 useWeighting=false ldAlpha=1\)/);
  const got = Number(/eval_loss (\S+)/.exec(ev.stdout)![1]);
  const r = await import('../../src/index.js');
  const device = r.cpuDevice();
  const [policy, reference] = [await r.loadPretrainedLlama(a, { device }), await r.loadPretrainedLlama(b, { device })];
  const { metrics } = await r.evaluatePreference({
    policy, reference, tokenizer: await r.loadTokenizer(a), dataset: await r.readPreferenceJsonl(fileURLToPath(new URL('../../../examples/toy-preferences.jsonl', import.meta.url))),
    loss: 'dpo', lossConfig: { beta: 0.3, labelSmoothing: 0.1 }, batchSize: 8, maxLength: 512,
  });
  policy.dispose();
  reference.dispose();
  t.true(Math.abs(got - metrics.loss) < 2e-6, `relpo eval ${got}, library ${metrics.loss}`);
  t.true(Math.abs(metrics.loss - Math.log(2)) > 1e-4, 'the two checkpoints differ');
  const bad = relpo('eval', '--device', 'cpu', '--model', a, '--reference', b, '--loss', 'dpo', '--loss-config', 'betta=1');
  t.not(bad.status, 0);
  t.regex(bad.stderr, /loss 'dpo' has no option 'betta' \(did you mean 'beta'\?\)/);
  const described = relpo('losses', '--loss', 'sigmoid');
  t.is(described.status, 0, described.stderr);
  t.regex(described.stdout, /^dpo: /);
  t.regex(described.stdout, /labelSmoothing +default 0: ε: conservative DPO/);
});

test('relpo train --config takes a TRL DPOConfig YAML with --loss rpo: the run uses its options; --print-config says where each came from; relpo --version', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-cli-config-'));
  const out = join(dir, 'run');
  const yaml = join(dir, 'dpo.yaml');
  writeFileSync(yaml, ['learning_rate: 0.002', 'per_device_train_batch_size: 2', 'gradient_accumulation_steps: 2', 'max_steps: 2', 'beta: 0.5',
    'loss_type: sigmoid', 'max_length: 64', `output_dir: ${out}`, 'bf16: true', 'seed: 3', 'ddp_bucket_cap_mb: 25', ''].join('\n'));
  const printed = relpo('train', '--config', yaml, '--loss', 'rpo', '--print-config');
  t.is(printed.status, 0, printed.stderr);
  t.regex(printed.stdout, /--lr +0\.002 +\S*dpo\.yaml \(learning_rate\)/);
  t.regex(printed.stdout, /--loss +"rpo" +command line/);
  t.regex(printed.stdout, /--ddp-bucket-cap-mb +"?25"? +\S*dpo\.yaml \(ddp_bucket_cap_mb\)/);
  t.regex(printed.stdout, /--gradient-sum-starts +"backward" +default/);
  t.regex(printed.stderr, /warning: \S*dpo\.yaml: 'bf16' is a TRL option relpo train does not act on/);
  const run = relpo('train', '--device', 'cpu', '--config', yaml, '--loss', 'rpo');
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /loss rpo \(beta=0\.5 /);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  t.deepEqual(lines.map((m) => [m.step, m.lr > 0, m['loss_rows/chosen']]), [[1, true, 4], [2, true, 4]]);
  t.like(JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')), { loss: 'rpo', lossConfig: { beta: 0.5 }, contrastScope: 'step' });
  const version = relpo('--version');
  t.is(version.status, 0);
  t.regex(version.stdout, /^relpo \d+\.\d+\.\d+\n$/);
});

test('relpo train --model org/name --data org/name read a Hugging Face cache folder (HF_HUB_CACHE)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-cli-hub-'));
  const first = relpo('train', '--device', 'cpu', '--steps', '1', '--out', join(dir, 'seed'));
  t.is(first.status, 0, first.stderr);
  const hub = join(dir, 'hub'), commit = '0123456789abcdef0123456789abcdef01234567';
  const snapshot = join(hub, 'models--org--tiny-llama', 'snapshots', commit);
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(hub, 'models--org--tiny-llama', 'refs'), { recursive: true });
  writeFileSync(join(hub, 'models--org--tiny-llama', 'refs', 'main'), commit);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(dir, 'seed', 'checkpoint', f), join(snapshot, f));
  const data = join(hub, 'datasets--org--toy-prefs', 'snapshots', commit, 'data');
  mkdirSync(data, { recursive: true });
  mkdirSync(join(hub, 'datasets--org--toy-prefs', 'refs'), { recursive: true });
  writeFileSync(join(hub, 'datasets--org--toy-prefs', 'refs', 'main'), commit);
  copyFileSync(fileURLToPath(new URL('../../../examples/toy-preferences.jsonl', import.meta.url)), join(data, 'train-00000-of-00001.jsonl'));
  const env = { ...process.env, HF_HUB_CACHE: hub, HF_HUB_OFFLINE: '1' };
  const run = spawnSync(process.execPath, [MAIN, 'train', '--device', 'cpu', '--model', 'org/tiny-llama', '--data', 'org/toy-prefs', '--steps', '1', '--out', join(dir, 'run')], { encoding: 'utf8', env, timeout: 120_000 });
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /data: \S*datasets--org--toy-prefs\/snapshots\/0123456789abcdef\S* \(24 pairs/);
  t.regex(run.stdout, /model: \S*models--org--tiny-llama\/snapshots\/0123456789abcdef/);
  const missing = spawnSync(process.execPath, [MAIN, 'train', '--device', 'cpu', '--model', 'org/absent', '--steps', '1'], { encoding: 'utf8', env, timeout: 120_000 });
  t.not(missing.status, 0);
  t.regex(missing.stderr, /model 'org\/absent' is not in the Hugging Face cache: no \S*hub\/models--org--absent.*\(HF_HUB_OFFLINE is set: nothing is downloaded\)/);
});

test('relpo train --resume restores the options the run recorded; a changed one that breaks exact resume is refused, naming it', (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'relpo-cli-restore-')), 'run');
  const first = relpo('train', '--device', 'cpu', '--loss', 'dpo', '--beta', '0.3', '--batch', '2', '--lr', '0.002', '--steps', '2', '--out', out);
  t.is(first.status, 0, first.stderr);
  const printed = relpo('train', '--out', out, '--resume', '--steps', '3', '--print-config');
  t.regex(printed.stdout, /--loss +"dpo" +\S*checkpoint-2 \(loss\)/);
  t.regex(printed.stdout, /--steps +"3" +command line/);
  const resumed = relpo('train', '--device', 'cpu', '--out', out, '--resume', '--steps', '3');
  t.is(resumed.status, 0, resumed.stderr);
  t.regex(resumed.stdout, /loss dpo \(beta=0\.3 labelSmoothing=0 fDivergenceType=reverse_kl fAlphaDivergenceCoef=0\.5 useWeighting=false ldAlpha=1\)/);
  t.regex(resumed.stdout, /steps 3–3:/);
  t.regex(resumed.stdout, /resuming from step 2 \(\S*checkpoint-2\)/);
  const done = relpo('train', '--device', 'cpu', '--out', out, '--resume', '--steps', '3');
  t.is(done.status, 0, done.stderr);
  t.regex(done.stdout, /is at step 3, at or past --steps 3: nothing to train \(raise --steps to continue\)/);
  const changed = relpo('train', '--device', 'cpu', '--out', out, '--resume', '--steps', '4', '--batch', '4');
  t.not(changed.status, 0);
  t.regex(changed.stderr, /was trained with batchSize = 2, this run has 4/);
});

// Serial: the other tests' spawnSync would block this one's polling while its run goes on to the end.
test.serial('relpo train on Ctrl-C: finishes the step, writes a checkpoint, says how to resume, exits 130; resuming gives the uninterrupted run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-cli-sigint-'));
  const args = ['train', '--device', 'cpu', '--loss', 'dpo', '--batch', '2', '--steps', '6', '--save-every', '100'];
  const full = relpo(...args, '--out', join(dir, 'full'));
  t.is(full.status, 0, full.stderr);
  const out = join(dir, 'stopped');
  const child = spawn(process.execPath, [MAIN, ...args, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  // Ctrl-C once the first step is in metrics.jsonl.
  const metrics = join(out, 'metrics.jsonl');
  for (let i = 0; i < 600 && !(existsSync(metrics) && readFileSync(metrics, 'utf8').trim()); i++) await new Promise((res) => setTimeout(res, 100));
  child.kill('SIGINT');
  t.is(await exited, 130, stderr);
  const stoppedAt = JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')).step as number;
  t.regex(stderr, new RegExp(`stopped by SIGINT after step ${stoppedAt}; checkpoint: \\S*checkpoint; continue with: relpo train --out \\S*stopped --resume`));
  t.false(existsSync(join(out, '.relpo-train.lock')));
  if (stoppedAt < 6) {
    const resumed = relpo('train', '--device', 'cpu', '--out', out, '--resume', '--steps', '6');
    t.is(resumed.status, 0, resumed.stderr);
  }
  const rows = (p: string) => readFileSync(join(p, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).map((m) => [m.step, m.loss, m.grad_norm]);
  t.deepEqual(rows(out), rows(join(dir, 'full')));
  t.is(readFileSync(join(out, 'checkpoint', 'model.safetensors')).compare(readFileSync(join(dir, 'full', 'checkpoint', 'model.safetensors'))), 0, 'the same weights, bit for bit');
});

