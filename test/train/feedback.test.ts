// Learning from thumbs on the browser example's model (examples/browser/tiny-model): completionLogprobs
// against a forward and a float64 log-softmax on the host, and trainOnFeedback moving each 👍 answer
// up and each 👎 one down (RPO, KTO) while the base, adapters off, stays as it was.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import * as r from '../../src/index.js';
import { cpu } from '../helpers/devices.js';

const MODEL = fileURLToPath(new URL('../../../examples/browser/tiny-model/', import.meta.url));
const FEEDBACK: r.FeedbackRecord[] = [
  { prompt: 'tell me about the cat', completion: 'the cat is happy.', liked: true },
  { prompt: 'tell me about the cat', completion: 'the cat is sad.', liked: false },
  { prompt: 'what is the dog like', completion: 'the dog loves the sun.', liked: true },
  { prompt: 'what is the dog like', completion: 'the dog is cold.', liked: false },
];

const load = async () => ({ model: await r.loadPretrainedCausalLM(MODEL, { device: cpu }), tokenizer: await r.loadTokenizer(MODEL) });

/** Σ log p(completion tokens and EOS | prefix): one forward of BOS + prompt + completion + EOS, log-softmax in float64 on the host. */
async function hostLogprob(model: r.CausalLM, tokenizer: r.TextTokenizer, prompt: string, completion: string): Promise<number> {
  const p = [tokenizer.bosId!, ...(await tokenizer.encode(prompt))];
  const row = [...p, ...(await tokenizer.encode(completion)), tokenizer.eosId!];
  const logits = r.noGrad(() => model.forward(r.tensor(Int32Array.from(row), [1, row.length], { device: cpu, dtype: 'int32' })));
  const v = await logits.data();
  logits.dispose();
  const V = tokenizer.vocabSize;
  let sum = 0;
  for (let t = p.length - 1; t < row.length - 1; t++) {
    const z = Array.from(v.subarray(t * V, (t + 1) * V));
    const max = Math.max(...z);
    sum += z[row[t + 1]] - max - Math.log(z.reduce((s, x) => s + Math.exp(x - max), 0));
  }
  return sum;
}

test('completionLogprobs: the completion tokens and EOS scored as a forward and a host log-softmax score them', async (t) => {
  const { model, tokenizer } = await load();
  const got = await r.completionLogprobs(model, tokenizer, FEEDBACK);
  for (const [i, f] of FEEDBACK.entries()) t.true(Math.abs(got[i] - (await hostLogprob(model, tokenizer, f.prompt, f.completion))) < 1e-4, `${f.completion}: ${got[i]}`);
  model.dispose();
});

for (const loss of ['rpo', 'kto']) {
  test(`trainOnFeedback (${loss}): a LoRA adapter that raises each 👍 answer and lowers each 👎 one; the base is untouched`, async (t) => {
    const { model, tokenizer } = await load();
    const before = await r.completionLogprobs(model, tokenizer, FEEDBACK);
    const steps: number[] = [];
    const result = await r.trainOnFeedback({ policy: model, tokenizer, feedback: FEEDBACK, loss, steps: 10, log: (m) => steps.push(m.loss) });
    t.is(result.steps, 10);
    t.is(steps.length, 10);
    t.true(steps[9] < steps[0], `loss ${steps[0]} → ${steps[9]}`);
    t.is(r.loraLayers(model).length, 2 * r.FEEDBACK_LORA_TARGETS.length);
    const after = await r.completionLogprobs(model, tokenizer, FEEDBACK);
    for (const [i, f] of FEEDBACK.entries()) {
      t.log(`${f.liked ? '👍' : '👎'} ${f.completion}: ${before[i].toFixed(3)} → ${after[i].toFixed(3)}`);
      t.true(f.liked ? after[i] > before[i] : after[i] < before[i], f.completion);
    }
    // (withAdaptersDisabled is synchronous; completionLogprobs awaits its tokenization first.)
    for (const [, l] of r.loraLayers(model)) l.enabled = false;
    const base = await r.completionLogprobs(model, tokenizer, FEEDBACK);
    base.forEach((b, i) => t.true(Math.abs(b - before[i]) < 1e-5));
    model.dispose();
  });
}

test('trainOnFeedback with sftWeight: the first loss is RPO\'s ln 2 plus w × the 👍 answers\' NLL per token, and the 👍 answers rise on average', async (t) => {
  const { model, tokenizer } = await load();
  // Answers the page sampled and thumbed by mood; RPO alone lowers 👍 ones that share words with 👎 ones.
  const feedback: r.FeedbackRecord[] = [
    ['tell me about the cat', 'the cat is bright and sings all day.', true], ['tell me about the cat', 'the cat is kind.', true],
    ['tell me about the cat', 'the cat is very loud and is cold.', false], ['what is the dog like', 'the dog is very loud.', false],
    ['what is the dog like', 'the dog is bright.', true], ['tell me about the sea', 'the sea loves the sun.', true],
    ['tell me about the sea', 'the sea is sad.', false], ['tell me about the sea', 'the sea is warm.', true],
  ].map(([prompt, completion, liked]) => ({ prompt: prompt as string, completion: completion as string, liked: liked as boolean }));
  const before = await r.completionLogprobs(model, tokenizer, feedback);
  const liked = feedback.flatMap((f, i) => (f.liked ? [i] : []));
  // Tokens scored per answer: its words and EOS.
  const tokens = await Promise.all(liked.map(async (i) => (await tokenizer.encode(feedback[i].completion)).length + 1));
  const nll = -liked.reduce((s, i) => s + before[i], 0) / tokens.reduce((a, b) => a + b, 0);
  const losses: number[] = [];
  await r.trainOnFeedback({ policy: model, tokenizer, feedback, steps: 10, sftWeight: 1, lossConfig: { beta: 0.5 }, log: (m) => losses.push(m.loss) });
  t.true(Math.abs(losses[0] - (Math.LN2 + nll)) < 1e-5, `first loss ${losses[0]}, expected ${Math.LN2 + nll}`);
  const after = await r.completionLogprobs(model, tokenizer, feedback);
  const meanMove = (up: boolean) => feedback.reduce((s, f, i) => s + (f.liked === up ? after[i] - before[i] : 0), 0) / feedback.filter((f) => f.liked === up).length;
  t.log(`mean move: 👍 ${meanMove(true).toFixed(3)}, 👎 ${meanMove(false).toFixed(3)}`);
  t.true(meanMove(true) > 0);
  t.true(meanMove(false) < 0);
  model.dispose();
});

test('trainOnFeedback refuses feedback without both thumbs, and a loss that takes no unpaired rows', async (t) => {
  const { model, tokenizer } = await load();
  await t.throwsAsync(() => r.trainOnFeedback({ policy: model, tokenizer, feedback: FEEDBACK.filter((f) => f.liked) }), {
    message: 'trainOnFeedback: the feedback needs at least one 👍 and one 👎 (it has 2 👍 and 0 👎)',
  });
  await t.throwsAsync(() => r.trainOnFeedback({ policy: model, tokenizer, feedback: FEEDBACK, loss: 'dpo' }), { message: /loss 'dpo' does not take unpaired data/ });
  t.is(r.loraLayers(model).length, 0);
  model.dispose();
});
