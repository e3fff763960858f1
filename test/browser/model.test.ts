// A tiny LLaMA in headless Chromium: built in the page from the same seed as in Node (the init is
// seeded JavaScript, so its weights are Node's to the last bits), its forward's logits on the page's WebGPU
// device equal Node's CPU float64 forward to 1e-5, norm-relative; and greedy generation with the KV
// cache (two rows: the decode kernels and the skinny matmul, under SwiftShader's limits) gives Node's tokens.
import test from 'ava';
import * as r from '../../src/index.js';
import { assertClose, cpu } from '../helpers/devices.js';
import { openBrowser, runInPage } from '../helpers/browser.js';
import { TINY_CONFIG, tiny } from '../helpers/tiny-llama.js';
import { normRel } from '../helpers/norm-relative.js';

const browser = await openBrowser(test);

const IDS = [[1, 22557, 1526, 29991, 13], [1, 450, 7483, 0, 0]];
const LENGTHS = [5, 3];

browser.test(`a tiny LLaMA (seed 1) built in the page has Node's weights, and its WebGPU logits equal Node's CPU float64 ones to 1e-5 norm-relative${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const model = tiny(cpu, 'float64', 1);
  const sums = await Promise.all([...model.stateDict()].map(async ([name, p]) => [name, Array.from(await p.data()).reduce((a, b) => a + b, 0)] as const));
  const ids = r.tensor(IDS.flat(), [2, 5], { device: cpu, dtype: 'int32' });
  const want = await r.noGrad(() => model.forward(ids, { keyPadding: r.tensor(LENGTHS, [2], { device: cpu, dtype: 'int32' }) })).data();
  const out = await runInPage<{ sums: [string, number][]; logits: number[]; shape: number[]; device: string }>(browser.page, `
    import * as r from '/dist/browser/relpo.js';
    const config = ${JSON.stringify(TINY_CONFIG)};
    export default async () => {
      const onCpu = new r.LlamaForCausalLM(config, { device: r.cpuDevice(), dtype: 'float64', seed: 1, initStd: 0.1 });
      const sums = await Promise.all([...onCpu.stateDict()].map(async ([name, p]) => [name, Array.from(await p.data()).reduce((a, b) => a + b, 0)]));
      const gpu = await r.webgpuDevice();
      const model = new r.LlamaForCausalLM(config, { device: gpu, dtype: 'float32', seed: 1, initStd: 0.1 });
      const ids = r.tensor(${JSON.stringify(IDS.flat())}, [2, 5], { device: gpu, dtype: 'int32' });
      const logits = r.noGrad(() => model.forward(ids, { keyPadding: r.tensor(${JSON.stringify(LENGTHS)}, [2], { device: gpu, dtype: 'int32' }) }));
      return { sums, logits: Array.from(await logits.data()), shape: logits.shape, device: gpu.description };
    };`);
  // The same weights from the same seed, to the last bits that Chromium's and Node's Math.log and
  // Math.cos may round differently (the init's normal draws).
  t.deepEqual(out.sums.map(([name]) => name), sums.map(([name]) => name));
  assertClose(t, out.sums.map(([, s]) => s), sums.map(([, s]) => s), { rtol: 1e-12, atol: 1e-12 }, 'sums of the weights');
  t.deepEqual(out.shape, [2, 5, TINY_CONFIG.vocab_size]);
  // Padded positions' logits are meaningless: compare each row's valid positions.
  const V = TINY_CONFIG.vocab_size;
  const valid = (x: ArrayLike<number>) => IDS.flatMap((_, b) => Array.from({ length: LENGTHS[b] * V }, (_, i) => x[b * 5 * V + i]));
  const err = normRel(valid(out.logits), valid(want));
  t.log(`${out.device}: logits norm-relative error ${err.toExponential(2)}`);
  t.true(err <= 1e-5, `norm-relative error ${err}`);
});

const WIDER = { ...TINY_CONFIG, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 };
const PROMPTS = [[1, 22557, 1526], [1, 450, 7483, 310, 3444, 338]];

browser.test(`greedy generation with the KV cache (the decode and skinny-matmul kernels, hidden 64, GQA) on the page's WebGPU gives Node's CPU float64 tokens${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const model = new r.LlamaForCausalLM(WIDER, { device: cpu, dtype: 'float64', seed: 2, initStd: 0.1 });
  const want = await r.generateIds(model, PROMPTS, { maxNewTokens: 6 });
  const got = await runInPage<number[][]>(browser.page, `
    import * as r from '/dist/browser/relpo.js';
    export default async () => {
      const model = new r.LlamaForCausalLM(${JSON.stringify(WIDER)}, { device: await r.webgpuDevice(), dtype: 'float32', seed: 2, initStd: 0.1 });
      return r.generateIds(model, ${JSON.stringify(PROMPTS)}, { maxNewTokens: 6 });
    };`);
  t.log(`generated: ${JSON.stringify(got)}`);
  t.deepEqual(got, want);
});
