import test from 'ava';
import * as r from '../../src/index.js';

test('the synthetic task: a prompt\'s perfect answer scores 3, its decoys 0, each wrong or missing word costs; signal keys the first word by family, control by (3i + j) mod F', (t) => {
  for (const kind of ['signal', 'control'] as const) {
    const task = r.syntheticTask({ kind, trainPrompts: 40, evalPrompts: 10, seed: 3 });
    const p = task.train[0].prompt;
    t.is(task.score(p, task.best(p)), 3);
    t.is(task.score(p, task.decoys(p)), 0);
    const [w0, w1] = task.best(p).trim().split(' ');
    t.is(task.score(p, ` ${w0} ${w1}`), 2 - 0.5, 'a missing word: two hits, half a point off');
    t.is(task.score(p, `${task.best(p)} a0`), 3 - 0.5, 'an extra word');
    t.is(task.score(p, ''), -1.5);
    for (const pair of [...task.train, ...task.eval]) t.true(task.score(pair.prompt, pair.chosen) > task.score(pair.prompt, pair.rejected), `${kind}: chosen outscores rejected`);
    const prompts = new Set(task.train.map((x) => x.prompt));
    t.true(task.eval.every((x) => !prompts.has(x.prompt)), 'held-out prompts are new');
    t.deepEqual(r.syntheticTask({ kind, trainPrompts: 40, evalPrompts: 10, seed: 3 }).train, task.train, 'deterministic');
  }
  // Hand-made: the first word's key. Family 2 with items (1, 5) and (4, 5): the signal task gives
  // both the same first word (same family); the control task keys (3·1 + 5) mod 8 = 0 and (3·4 + 5) mod 8 = 1.
  const signal = r.syntheticTask({ kind: 'signal', trainPrompts: 4, evalPrompts: 1 });
  const control = r.syntheticTask({ kind: 'control', trainPrompts: 4, evalPrompts: 1 });
  const first = (task: r.SyntheticTask, p: string) => task.best(p).trim().split(' ')[0];
  t.is(first(signal, 'f2 x1 x5'), first(signal, 'f2 x4 x5'));
  t.is(first(control, 'f2 x1 x5'), first(control, 'f6 x1 x5'), 'control: the family word does not matter');
  t.throws(() => signal.score('hello', ' a1'), { message: /'hello' is not one of its prompts/ });
  t.throws(() => r.syntheticTask({ kind: 'signal', trainPrompts: 2000 }), { message: /only 1152 exist/ });
});

test('the oracle judge answers 1, 2 or tie by the exact scores, and judgeComparisons counts them as win, loss, tie', async (t) => {
  const task = r.syntheticTask({ kind: 'signal', trainPrompts: 4, evalPrompts: 1 });
  const judge = r.oracleJudge(task.score);
  const p = 'f1 x2 x3';
  const ask = (a: string, b: string) => judge.ask(r.judgePrompt(r.ORACLE_TEMPLATE, p, a, b));
  t.is(await ask(task.best(p), task.decoys(p)), '1');
  t.is(await ask(task.decoys(p), task.best(p)), '2');
  t.is(await ask(task.decoys(p), task.decoys(p)), 'tie');
  await t.throwsAsync(judge.ask('Which is better?'), { message: /not ORACLE_TEMPLATE's/ });
  const items = [
    { id: 0, history: p, candidate: task.best(p), baseline: task.decoys(p) },
    { id: 1, history: p, candidate: task.decoys(p), baseline: task.best(p) },
    { id: 2, history: p, candidate: task.best(p), baseline: task.best(p) },
  ];
  const verdicts = await r.judgeComparisons(items, judge, { template: r.ORACLE_TEMPLATE, seed: 5 });
  t.deepEqual(verdicts.map((v) => v.verdict), ['win', 'loss', 'tie']);
  t.is(r.winRate(verdicts.map((v) => v.verdict)).rate, 0.5);
});

test('experiment configs: defaults filled in, every key checked and named', (t) => {
  const c = r.resolveExperimentConfig(r.DEFAULT_EXPERIMENT);
  t.deepEqual(c.arms.map((a) => a.name).slice(0, 4), ['sft', 'dpo', 'ipo', 'kto']);
  t.true(c.arms.find((a) => a.name === 'kto')!.unpaired);
  t.deepEqual(c.arms.filter((a) => a.name.startsWith('rpo-mb2')).map((a) => [a.batchSize, a.gradientAccumulationSteps, a.contrastScope]), [[2, 4, 'micro-batch'], [2, 4, 'step']]);
  t.deepEqual(r.resolveExperimentConfig(r.FULL_GRID).seeds, [0, 1, 2]);
  t.throws(() => r.resolveExperimentConfig({ arms: [{ name: 'a', loss: 'dpo', batchsize: 2 }], baseline: 'a' }, 'x.yaml'), { message: /x\.yaml\.arms\[0\]: unknown key 'batchsize'/ });
  t.throws(() => r.resolveExperimentConfig({ baseline: 'nope' }, 'x.yaml'), { message: /x\.yaml\.baseline: 'nope' is not an arm/ });
  t.throws(() => r.resolveExperimentConfig({ train: { steps: 0 } }, 'x.yaml'), { message: /x\.yaml\.train\.steps: must be an integer ≥ 1, got 0/ });
  t.throws(() => r.parseExperimentConfig('arms: [', 'bad.yaml'), { message: /bad\.yaml: not valid YAML/ });
  t.throws(() => r.resolveExperimentConfig({ arms: [{ name: 'a b', loss: 'dpo' }], baseline: 'a b' }), { message: /must be letters, digits/ });
  const paper = r.resolveExperimentConfig({ tasks: [{ kind: 'dataset', model: 'm', train_data: 'a.jsonl', eval_data: 'b.jsonl', judge: { url: 'http://x/v1', model: 'gpt-4-0613', api_key_env: 'OPENAI_API_KEY' } }] });
  t.like(paper.tasks[0], { kind: 'dataset', template: 'dialogue', judge: { apiKeyEnv: 'OPENAI_API_KEY' } });
});
