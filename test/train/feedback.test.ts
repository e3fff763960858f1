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

test('trainOnFeedback refuses feedback without both thumbs, and a loss that takes no unpaired rows', async (t) => {
  const { model, tokenizer } = await load();
  await t.throwsAsync(() => r.trainOnFeedback({ policy: model, tokenizer, feedback: FEEDBACK.filter((f) => f.liked) }), {
    message: 'trainOnFeedback: the feedback needs at least one 👍 and one 👎 (it has 2 👍 and 0 👎)',
  });
  await t.throwsAsync(() => r.trainOnFeedback({ policy: model, tokenizer, feedback: FEEDBACK, loss: 'dpo' }), { message: /loss 'dpo' does not take unpaired data/ });
  t.is(r.loraLayers(model).length, 0);
  model.dispose();
});
