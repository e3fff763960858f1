import test from 'ava';
import { fileURLToPath } from 'node:url';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relpo } from '../helpers/cli.js';

test('relpo --help lists the commands; every command has --help', (t) => {
  const top = relpo('--help');
  t.is(top.status, 0);
  for (const cmd of ['train', 'eval', 'generate', 'judge', 'merge', 'demo', 'devices', 'losses']) {
    t.regex(top.stdout, new RegExp(`^  ${cmd} `, 'm'));
    const help = relpo(cmd, '--help');
    t.is(help.status, 0, cmd);
    t.regex(help.stdout, new RegExp(`usage: relpo ${cmd}`), cmd);
  }
});

test('unknown commands and flags are errors that point at --help', (t) => {
  const cmd = relpo('trian');
  t.is(cmd.status, 1);
  t.regex(cmd.stderr, /unknown command 'trian'/);
  const flag = relpo('demo', '--stepz', '3');
  t.is(flag.status, 1);
  t.regex(flag.stderr, /unknown flag --stepz \(see relpo demo --help\)/);
  const num = relpo('demo', '--steps', 'many');
  t.regex(num.stderr, /--steps must be a number/);
});

test('relpo demo trains the toy policy on the cpu device', (t) => {
  const run = relpo('demo', '--device', 'cpu', '--steps', '60');
  t.is(run.status, 0, run.stderr);
  const m = /held-out preference accuracy: ([\d.]+)% before, ([\d.]+)% after/.exec(run.stdout);
  t.truthy(m, run.stdout);
  t.true(Number(m![2]) > Number(m![1]) + 20, run.stdout);
});

test('relpo demo with an unknown loss names the registered ones', (t) => {
  const run = relpo('demo', '--device', 'cpu', '--loss', 'dpp');
  t.is(run.status, 1);
  t.regex(run.stderr, /dpp/);
  t.regex(run.stderr, /rpo/);
});

test('relpo losses lists every built-in loss', (t) => {
  const run = relpo('losses');
  t.is(run.status, 0);
  for (const name of ['rpo', 'rpo_simpo', 'dpo', 'ipo', 'kto', 'simpo', 'cpo', 'sft']) t.regex(run.stdout, new RegExp(`^${name} `, 'm'));
});

test('relpo train runs the built-in default (toy data, tiny LLaMA, rpo) and resumes from its checkpoint', (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'relpo-cli-train-')), 'run');
  const first = relpo('train', '--device', 'cpu', '--steps', '2', '--out', out);
  t.is(first.status, 0, first.stderr);
  t.regex(first.stdout, /data: .*toy-preferences\.jsonl \(24 pairs, format paired\)/);
  t.regex(first.stdout, /steps 1–2: loss 0\.693\d/);
  const resumed = relpo('train', '--device', 'cpu', '--steps', '3', '--out', out, '--resume');
  t.is(resumed.status, 0, resumed.stderr);
  t.regex(resumed.stdout, /steps 3–3:/);
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  t.deepEqual(steps, [1, 2, 3]);
  // relpo train plots its metrics at the end; relpo plot RUN_DIR draws them again.
  t.regex(readFileSync(join(out, 'metrics.svg'), 'utf8'), /^<svg [^]*<polyline class="train"[^]*<\/svg>\n$/);
  const plotted = relpo('plot', out, '--out', join(out, 'again.svg'));
  t.is(plotted.status, 0, plotted.stderr);
  t.is(readFileSync(join(out, 'again.svg'), 'utf8'), readFileSync(join(out, 'metrics.svg'), 'utf8'));
  t.regex(relpo('plot', join(out, 'nowhere')).stderr, /relpo plot: no \S*nowhere\/metrics\.jsonl/);
  // The checkpoint carries the tokenizer it was trained with (as save_pretrained), so it loads alone.
  t.true(existsSync(join(out, 'checkpoint', 'tokenizer.json')) && existsSync(join(out, 'checkpoint', 'tokenizer_config.json')));
  // relpo generate continues a prompt with the checkpoint train wrote.
  const gen = relpo('generate', '--device', 'cpu', '--model', join(out, 'checkpoint'), '--prompt', 'The sky is', '--max-new-tokens', '3');
  t.is(gen.status, 0, gen.stderr);
  t.regex(gen.stdout, /^The sky is/m);
  // relpo eval: against itself as the reference, DPO's loss is exactly log 2.
  const ev = relpo('eval', '--device', 'cpu', '--model', join(out, 'checkpoint'), '--reference', join(out, 'checkpoint'), '--loss', 'dpo');
  t.is(ev.status, 0, ev.stderr);
  t.regex(ev.stdout, /toy-preferences\.jsonl: 24 pairs, loss dpo/);
  t.regex(ev.stdout, /eval_loss 0\.693147/);
  t.regex(ev.stdout, /eval_rewards\/accuracies 0\.000000/);
  // Without --reference: the run's starting model, which relpo train saved beside its checkpoint.
  const noRef = relpo('eval', '--device', 'cpu', '--model', join(out, 'checkpoint'));
  t.is(noRef.status, 0, noRef.stderr);
  t.regex(noRef.stdout, /reference: \S*initial-model \(the run's starting model\)/);
  t.notRegex(noRef.stdout, /eval_loss 0\.693147/);
  const elsewhere = mkdtempSync(join(tmpdir(), 'relpo-cli-noref-'));
  copyFileSync(join(out, 'checkpoint', 'config.json'), join(elsewhere, 'config.json'));
  copyFileSync(join(out, 'checkpoint', 'model.safetensors'), join(elsewhere, 'model.safetensors'));
  const lone = relpo('eval', '--device', 'cpu', '--model', elsewhere);
  t.not(lone.status, 0);
  t.regex(lone.stderr, /needs a reference model/);
  const none = relpo('generate', '--model', join(out, 'nowhere'));
  t.not(none.status, 0);
  t.regex(none.stderr, /no checkpoint at .*nowhere \(no config\.json\); run `npm run train` first or pass --model/);
});

test('relpo train --eval-split holds out whole prompts and evaluates them', (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'relpo-cli-train-')), 'run');
  const run = relpo('train', '--device', 'cpu', '--steps', '2', '--out', out, '--eval-split', '0.25', '--eval-steps', '1');
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /data: .*toy-preferences\.jsonl \(24 pairs, format paired\); eval: \d+ pairs held out/);
  t.regex(run.stderr, /eval at step 1: eval_loss 0\.69\d+, eval reward accuracy \d+%/);
  t.regex(run.stderr, /eval at step 2: eval_loss/);
  const both = relpo('train', '--device', 'cpu', '--steps', '1', '--out', out, '--eval-split', '0.25', '--eval-data', 'x.jsonl');
  t.not(both.status, 0);
  t.regex(both.stderr, /--eval-split or --eval-data, not both/);
});

test('relpo train --prompt-embedder uses a sentence embedder folder for rpo', (t) => {
  // The golden tiny BERT of test/models/golden as a checkpoint folder with its tokenizer.
  const golden = fileURLToPath(new URL('../../../test/models/golden/', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'relpo-cli-embedder-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify((JSON.parse(readFileSync(join(golden, 'bert.json'), 'utf8')) as { config: unknown }).config));
  copyFileSync(join(golden, 'bert.safetensors'), join(dir, 'model.safetensors'));
  copyFileSync(join(golden, 'bert-tokenizer.json'), join(dir, 'tokenizer.json'));
  const out = join(mkdtempSync(join(tmpdir(), 'relpo-cli-train-')), 'run');
  const run = relpo('train', '--device', 'cpu', '--steps', '2', '--out', out, '--prompt-embedder', dir);
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /prompt embeddings: .* \(BERT, 16 dims, mean pooling, normalized, at most 32 tokens\)/);
  t.regex(run.stdout, /steps 1–2: loss 0\.693\d/);
  const missing = relpo('train', '--device', 'cpu', '--steps', '1', '--out', out, '--prompt-embedder', join(dir, 'nowhere'));
  t.not(missing.status, 0);
  t.regex(missing.stderr, /nowhere/);
});

test('relpo train --data takes a dataset folder and its --split', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'relpo-cli-folder-'));
  mkdirSync(join(root, 'data'));
  const toy = readFileSync(fileURLToPath(new URL('../../../examples/toy-preferences.jsonl', import.meta.url)), 'utf8').trim().split('\n');
  writeFileSync(join(root, 'data', 'train-00000-of-00002.jsonl'), toy.slice(0, 10).join('\n') + '\n');
  writeFileSync(join(root, 'data', 'train-00001-of-00002.jsonl'), toy.slice(10, 20).join('\n') + '\n');
  writeFileSync(join(root, 'data', 'test-00000-of-00001.jsonl'), toy.slice(20).join('\n') + '\n');
  const run = relpo('train', '--device', 'cpu', '--steps', '1', '--out', join(root, 'run'), '--data', root);
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /\(split train\) \(20 pairs, format paired\)/);
  const missing = relpo('train', '--device', 'cpu', '--steps', '1', '--out', join(root, 'run2'), '--data', root, '--split', 'validation');
  t.is(missing.status, 1);
  t.regex(missing.stderr, /no files of split 'validation'/);
});

test('relpo merge folds a trained adapter into its base: the merged checkpoint generates as base + adapter', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'relpo-cli-merge-'));
  const base = relpo('train', '--device', 'cpu', '--steps', '1', '--out', join(root, 'base'));
  t.is(base.status, 0, base.stderr);
  const baseDir = join(root, 'base', 'checkpoint');
  const lora = relpo('train', '--device', 'cpu', '--steps', '3', '--lr', '0.05', '--out', join(root, 'lora'), '--model', baseDir, '--lora-r', '4', '--lora-targets', 'q_proj,v_proj,down_proj');
  t.is(lora.status, 0, lora.stderr);
  const merged = join(root, 'merged');
  const merge = relpo('merge', '--device', 'cpu', '--model', baseDir, '--adapter', join(root, 'lora', 'checkpoint'), '--out', merged);
  t.is(merge.status, 0, merge.stderr);
  t.regex(merge.stdout, /merged 6 LoRA layers/);
  const gen = (...args: string[]) => relpo('generate', '--device', 'cpu', '--prompt', 'The sky is', '--max-new-tokens', '8', ...args);
  const viaAdapter = gen('--model', baseDir, '--adapter', join(root, 'lora', 'checkpoint'));
  t.regex(viaAdapter.stderr, /merged the adapter's 6 LoRA layers into the base/, 'a float32 base takes the adapter in for generation');
  const keptApart = gen('--model', baseDir, '--adapter', join(root, 'lora', 'checkpoint'), '--keep-adapter');
  t.notRegex(keptApart.stderr, /merged/);
  const viaMerged = gen('--model', merged);
  t.is(viaMerged.status, 0, viaMerged.stderr);
  t.is(viaMerged.stdout, viaAdapter.stdout);
  t.is(keptApart.stdout, viaAdapter.stdout);
  // The base held in bfloat16 / NF4 under the adapter: it streams in as such and generates.
  for (const dtype of ['bfloat16', 'nf4']) {
    const low = gen('--model', baseDir, '--adapter', join(root, 'lora', 'checkpoint'), '--base-dtype', dtype);
    t.is(low.status, 0, low.stderr);
    t.regex(low.stderr, new RegExp(`relpo generate: 15 weight matrices held in ${dtype}`)); // 2 layers × 7 projections, the LM head
    t.true(low.stdout.startsWith('The sky is'), low.stdout);
  }
  t.regex(gen('--model', baseDir, '--base-dtype', 'int8').stderr, /--base-dtype must be float32, bfloat16 or nf4, got "int8"/);
  const missing = relpo('merge', '--model', baseDir, '--adapter', join(root, 'nowhere'));
  t.is(missing.status, 1);
  t.regex(missing.stderr, /no adapter at .*nowhere/);
  // The adapter names its base: merge finds it alone, and refuses another base unless forced.
  const config = JSON.parse(readFileSync(join(root, 'lora', 'checkpoint', 'adapter_config.json'), 'utf8')) as { base_model_name_or_path: string };
  t.is(config.base_model_name_or_path, baseDir);
  t.regex(readFileSync(join(root, 'lora', 'checkpoint', 'relpo_base.json'), 'utf8'), /"fingerprint": "[0-9a-f]{16}"/);
  const alone = relpo('merge', '--device', 'cpu', '--adapter', join(root, 'lora', 'checkpoint'), '--out', join(root, 'merged-alone'));
  t.is(alone.status, 0, alone.stderr);
  t.true(readFileSync(join(root, 'merged-alone', 'model.safetensors')).equals(readFileSync(join(merged, 'model.safetensors'))));
  const otherBase = join(root, 'base', 'initial-model'); // the base run's random start: another model of the same shape
  const wrong = relpo('merge', '--device', 'cpu', '--model', otherBase, '--adapter', join(root, 'lora', 'checkpoint'), '--out', join(root, 'merged-wrong'));
  t.is(wrong.status, 1);
  t.regex(wrong.stderr, /was trained on the base \S*base\/checkpoint \(fingerprint [0-9a-f]+\), but \S*initial-model is another model .*--force/);
  t.is(relpo('merge', '--device', 'cpu', '--model', otherBase, '--adapter', join(root, 'lora', 'checkpoint'), '--out', join(root, 'merged-forced'), '--force').status, 0);
  t.regex(gen('--model', otherBase, '--adapter', join(root, 'lora', 'checkpoint')).stderr, /is another model/);
  // The built-in random model under LoRA: its start is saved, and merge takes it as the base.
  const tiny = relpo('train', '--device', 'cpu', '--steps', '1', '--lora-r', '2', '--out', join(root, 'tiny-lora'));
  t.is(tiny.status, 0, tiny.stderr);
  t.is(relpo('merge', '--device', 'cpu', '--adapter', join(root, 'tiny-lora', 'checkpoint'), '--out', join(root, 'tiny-merged')).status, 0);
});

test('relpo train --gradient-checkpointing and --precompute-ref-log-probs take the same steps', (t) => {
  const metrics = (extra: string[]) => {
    const out = join(mkdtempSync(join(tmpdir(), 'relpo-cli-ckpt-')), 'run');
    const run = relpo('train', '--device', 'cpu', '--steps', '3', '--out', out, ...extra);
    t.is(run.status, 0, run.stderr);
    return readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; grad_norm: number });
  };
  const plain = metrics([]), ck = metrics(['--gradient-checkpointing']), pre = metrics(['--precompute-ref-log-probs']);
  t.is(ck.length, 3);
  t.deepEqual(pre.map((m) => m.loss), plain.map((m) => m.loss), '--precompute-ref-log-probs: the same losses');
  for (const [i, m] of plain.entries()) {
    t.true(Math.abs(ck[i].loss - m.loss) <= 1e-6 * Math.abs(m.loss), `step ${i + 1} loss ${ck[i].loss} vs ${m.loss}`);
    t.true(Math.abs(ck[i].grad_norm - m.grad_norm) <= 1e-5 * m.grad_norm, `step ${i + 1} grad_norm ${ck[i].grad_norm} vs ${m.grad_norm}`);
  }
});

test('relpo train --lora-r trains adapters against the base model and checkpoints them in PEFT format', (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'relpo-cli-lora-')), 'run');
  const run = relpo('train', '--device', 'cpu', '--steps', '2', '--out', out, '--lora-r', '2', '--lora-targets', 'q_proj,k_proj,v_proj');
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /LoRA: rank 2 on 6 layers; the base model with adapters off is the reference/);
  const config = JSON.parse(readFileSync(join(out, 'checkpoint', 'adapter_config.json'), 'utf8')) as { r: number; target_modules: string[] };
  t.deepEqual([config.r, config.target_modules], [2, ['k_proj', 'q_proj', 'v_proj']]);
});

test('relpo train --base-dtype bfloat16 / nf4 keeps the frozen base in bfloat16 / NF4 and trains as the float32 run does, closely; refused without LoRA', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'relpo-cli-bf16-'));
  const args = ['train', '--device', 'cpu', '--steps', '3', '--lr', '0.05', '--lora-r', '4', '--lora-targets', 'q_proj,v_proj,down_proj'];
  const half = relpo(...args, '--out', join(root, 'bf16'), '--base-dtype', 'bfloat16');
  t.is(half.status, 0, half.stderr);
  t.regex(half.stdout, /base weights in bfloat16: 15 matrices \([\d.]+ → [\d.]+ MiB\)/);
  const full = relpo(...args, '--out', join(root, 'f32'));
  t.is(full.status, 0, full.stderr);
  type M = { loss: number; grad_norm: number; 'rewards/margins': number };
  const steps = (dir: string) => readFileSync(join(root, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as M);
  // Every run starts at log 2 (the adapters start at zero), so what is compared is how they move:
  // the loss's fall over three steps, the gradient norms and the last reward margin, relative to float32's.
  const rel = (x: number, y: number) => Math.abs(x / y - 1);
  const compare = (dir: string, tol: { grad: number; fall: number; margin: number }, gradSteps: number) => {
    const [a, b] = [steps(dir), steps('f32')];
    t.is(a.length, 3);
    const fall = (m: M[]) => m[0].loss - m[2].loss;
    t.true(fall(b) > 1e-3, `float32 learns: ${fall(b)}`);
    t.true(rel(fall(a), fall(b)) < tol.fall, `${dir}: the loss falls ${fall(a)} against float32's ${fall(b)}`);
    for (let i = 0; i < gradSteps; i++) t.true(rel(a[i].grad_norm, b[i].grad_norm) < tol.grad, `${dir} step ${i + 1}: grad_norm ${a[i].grad_norm} vs ${b[i].grad_norm}`);
    t.true(rel(a[2]['rewards/margins'], b[2]['rewards/margins']) < tol.margin, `${dir}: margin ${a[2]['rewards/margins']} vs ${b[2]['rewards/margins']}`);
  };
  // bfloat16 keeps 8 significant bits: within 0.2-0.3% here (2026-12-06), so 2% and 5%.
  compare('bf16', { grad: 0.02, fall: 0.05, margin: 0.05 }, 3);
  // NF4 (4-bit): 1.3% on the first gradient, 7% on the fall and the margin here, so 10% and 30%.
  const nf4 = relpo(...args, '--out', join(root, 'nf4'), '--base-dtype', 'nf4');
  t.is(nf4.status, 0, nf4.stderr);
  t.regex(nf4.stdout, /base weights in nf4: 15 matrices \([\d.]+ → [\d.]+ MiB\)/);
  compare('nf4', { grad: 0.1, fall: 0.3, margin: 0.3 }, 1);
  const refused = relpo('train', '--device', 'cpu', '--steps', '1', '--out', join(root, 'no'), '--base-dtype', 'bfloat16');
  t.not(refused.status, 0);
  t.regex(refused.stderr, /--base-dtype bfloat16 needs --lora-r/);
});
