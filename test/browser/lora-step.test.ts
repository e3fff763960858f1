// Training in the page: a LoRA adapter trained with RPO (unpaired feedback, uniform weights) for two
// steps in headless Chromium on WebGPU (SwiftShader) from a checkpoint held as bytes, against the
// same run in Node on the CPU device: the losses and the adapter (adapterFiles' bytes, read back)
// agree to 1e-5, norm-relative (the browser's limits may choose other tiles and orders of sums).
import test from 'ava';
import * as r from '../../src/index.js';
import { cpu } from '../helpers/devices.js';
import { byteTokenizer, checkpointFiles, FEEDBACK } from '../helpers/feedback-training.js';
import { openBrowser, runInPage } from '../helpers/browser.js';

const browser = await openBrowser(test);

const LORA = { r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj', 'down_proj'] };
const TRAIN = { loss: 'rpo', lossConfig: { weighting: 'uniform' }, lr: 0.05, batchSize: 8, steps: 2, seed: 3 };

const toBase64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const fromBase64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** Each adapter tensor's values, by name. */
async function adapterValues(bytes: Uint8Array): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [name, t] of await r.loadSafetensorsBytes(bytes, 'adapter_model.safetensors', { device: cpu, dtype: 'float64' })) {
    out.set(name, Array.from(await t.data()));
    t.dispose();
  }
  return out;
}

browser.test(`a LoRA RPO run in the page (WebGPU) gives Node's losses and adapter to 1e-5${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const files = await checkpointFiles();

  const policy = await r.loadPretrainedCausalLM(r.memorySource(files), { device: cpu });
  r.applyLora(policy, LORA);
  const dataset = r.preferenceDatasetFromRecords(FEEDBACK, { name: 'feedback' });
  const initial = await adapterValues((await r.adapterFiles(policy)).get(r.ADAPTER_WEIGHTS_FILE)!);
  const node = await r.trainPreference({ policy, tokenizer: byteTokenizer, dataset, ...TRAIN } as r.TrainPreferenceOptions);
  const want = await adapterValues((await r.adapterFiles(policy)).get(r.ADAPTER_WEIGHTS_FILE)!);
  policy.dispose();

  const page = await runInPage<{ device: string; losses: number[]; adapter: string }>(browser.page, `
    import * as r from '/dist/browser/relpo.js';
    const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    // The byte tokenizer of test/helpers/feedback-training.ts.
    const tokenizer = {
      encode: async (text) => [...new TextEncoder().encode(text)],
      decode: async (ids) => new TextDecoder().decode(Uint8Array.from(ids.filter((i) => i < 256))),
      tokenToId: () => undefined, vocabSize: 258, bosId: 256, eosId: 257, addBos: true, path: '(bytes)',
    };
    export default async () => {
      const device = await r.init({ quiet: true });
      const files = ${JSON.stringify(Object.fromEntries([...files].map(([k, v]) => [k, toBase64(v)])))};
      const source = r.memorySource(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, bytes(v)])), 'page');
      const policy = await r.loadPretrainedCausalLM(source);
      r.applyLora(policy, ${JSON.stringify(LORA)});
      const dataset = r.preferenceDatasetFromRecords(${JSON.stringify(FEEDBACK)}, { name: 'feedback' });
      const res = await r.trainPreference({ policy, tokenizer, dataset, ...${JSON.stringify(TRAIN)} });
      const adapter = (await r.adapterFiles(policy)).get('adapter_model.safetensors');
      return { device: device.kind, losses: res.history.map((m) => m.loss), adapter: btoa(String.fromCharCode(...adapter)) };
    };`);
  t.is(page.device, 'webgpu');
  const nodeLosses = node.history.map((m) => m.loss);
  t.is(page.losses.length, 2);
  for (const [i, l] of page.losses.entries()) t.true(Math.abs(l - nodeLosses[i]) <= 1e-5 * Math.abs(nodeLosses[i]), `step ${i + 1}: page ${l}, Node ${nodeLosses[i]}`);
  const got = await adapterValues(fromBase64(page.adapter));
  t.deepEqual([...got.keys()], [...want.keys()]);
  let worst = 0;
  for (const [name, w] of want) {
    const g = got.get(name)!;
    const diff = Math.hypot(...w.map((v, i) => v - g[i]));
    const norm = Math.hypot(...w);
    t.true(norm > 0 && diff <= 1e-5 * norm, `${name}: |page − Node| = ${diff}, |Node| = ${norm}`);
    worst = Math.max(worst, diff / norm);
  }
  t.log(`losses page ${page.losses}, Node ${nodeLosses}; adapter's largest norm-relative difference ${worst.toExponential(2)}`);
  // Two steps moved both sides of the adapter (B from zero in step 1, A in step 2).
  for (const [name, w] of want) t.true(w.some((v, i) => v !== initial.get(name)![i]), `${name} trained`);
});
