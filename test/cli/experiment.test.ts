import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relpo } from '../helpers/cli.js';

const TINY_YAML = `
name: cli-tiny
tasks: [{ kind: control, train_prompts: 16, eval_prompts: 4 }]
model: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16 }
sft: { steps: 3, lr: 3.0e-3, batch_size: 8 }
train: { steps: 2, lr: 1.0e-3, optimizer: rmsprop, batch_size: 4, beta: 0.1 }
eval: { max_new_tokens: 4, kl_samples: 1 }
seeds: [0]
baseline: dpo
arms: [{ name: sft, loss: none }, { name: dpo, loss: dpo }]
`;

test('relpo experiment CONFIG: the arms\' table printed and written; a config error names the file and key; --help', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-cli-exp-'));
  const config = join(dir, 'tiny.yaml');
  writeFileSync(config, TINY_YAML);
  const out = join(dir, 'out');
  const run = relpo('experiment', config, '--out', out);
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /relpo experiment 'cli-tiny': 1 task\(s\) × 2 arms × 1 seed\(s\) on cpu/);
  t.regex(run.stdout, /\| dpo \| [\d.]+ \[[\d.]+, [\d.]+\] \| \(baseline\) \|/);
  t.regex(run.stdout, /\| sft \| [\d.]+ \[/);
  for (const f of ['results.md', 'results.json', 'win-rates.svg', 'curves.svg', 'control/dpo/seed-0/run/metrics.jsonl']) t.true(existsSync(join(out, f)), f);
  t.is(readFileSync(join(out, 'results.md'), 'utf8').trim(), run.stdout.split('\n\n').slice(1).join('\n\n').split('\nwrote ')[0].trim());
  // Again: everything is done, nothing is trained again.
  const again = relpo('experiment', config, '--out', out);
  t.is(again.status, 0, again.stderr);
  t.notRegex(again.stdout, /control: dpo, seed 0/);

  writeFileSync(config, TINY_YAML.replace('baseline: dpo', 'baseline: dpo\nsteps: 3'));
  const bad = relpo('experiment', config, '--out', join(dir, 'other'));
  t.is(bad.status, 1);
  t.regex(bad.stderr, /tiny\.yaml: unknown key 'steps'/);
  const help = relpo('experiment', '--help');
  t.regex(help.stdout, /--full/);
});
