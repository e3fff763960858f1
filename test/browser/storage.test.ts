// Browser storage in headless Chromium (test/helpers/browser.ts): a LoRA adapter made in the page
// (adapterFiles) is saved to OPFS and to IndexedDB, read back through opfsSource / indexedDbSource
// into a fresh base with loadLoraAdapter, and gives the adapted model's logits exactly; the stored
// bytes are the bytes saved; downloadBytes' Blob URL serves the bytes; what is not there is an
// error naming it.
import test from 'ava';
import { openBrowser, runInPage } from '../helpers/browser.js';

const browser = await openBrowser(test);

interface StorageResult {
  files: string[];
  sameBytes: Record<string, boolean>;
  logitsDiff: Record<string, number>;
  adaptedMovesLogits: number;
  download: boolean;
  errors: string[];
}

browser.test(`an adapter saved to OPFS and IndexedDB loads back in the page to the same logits; downloads serve the bytes${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const out = await runInPage<StorageResult>(browser.page, `
    import * as r from '/dist/browser/relpo.js';
    export default async () => {
      await r.init({ quiet: true });
      // The golden tiny LLaMA, fetched as bytes and held in memory.
      const golden = '/test/models/golden/';
      const config = (await (await fetch(golden + 'llama.json')).json()).config;
      const weights = new Uint8Array(await (await fetch(golden + 'llama.safetensors')).arrayBuffer());
      const source = r.memorySource({ 'config.json': JSON.stringify(config), 'model.safetensors': weights }, 'golden');
      const ids = r.tensor([[1, 5, 9, 2, 7]], [1, 5], { dtype: 'int32' });
      const logits = async (m) => Array.from(await r.tidy(() => m.forward(ids)).data());
      const model = await r.loadPretrainedCausalLM(source);
      const plain = await logits(model);
      r.applyLora(model, { r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj'] });
      for (const [i, [, l]] of r.loraLayers(model).entries()) {
        const b = r.tensor(Array.from({ length: l.lora_B.weight.size }, (_, k) => Math.sin(3 * i + k) * 0.5), l.lora_B.weight.shape);
        l.lora_B.loadStateDict({ weight: b });
        b.dispose();
      }
      const want = await logits(model);
      const files = await r.adapterFiles(model, { base_model_name_or_path: 'golden', fingerprint: await r.baseFingerprint(model) });
      await r.saveFilesToOpfs('adapters/golden', files);
      await r.saveFilesToIndexedDb('golden', files);
      const sameBytes = {}, logitsDiff = {};
      for (const stored of [await r.opfsSource('adapters/golden'), await r.indexedDbSource('golden')]) {
        sameBytes[stored.name] = (await Promise.all([...files].map(async ([f, b]) => (await stored.readBytes(f)).join() === b.join()))).every(Boolean);
        const fresh = await r.loadPretrainedCausalLM(source);
        await r.checkAdapterBase(fresh, stored, 'golden', false);
        await r.loadLoraAdapter(fresh, stored);
        const got = await logits(fresh);
        logitsDiff[stored.name] = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
        fresh.dispose();
      }
      const bytes = files.get('adapter_model.safetensors');
      const url = r.downloadBytes(bytes, 'adapter_model.safetensors');
      const download = new Uint8Array(await (await fetch(url)).arrayBuffer()).join() === bytes.join();
      const errors = [];
      await r.opfsSource('adapters/none').catch((e) => errors.push(e.message));
      await (await r.opfsSource('adapters/golden')).readBytes('nope.json').catch((e) => errors.push(e.message));
      await r.indexedDbSource('none').catch((e) => errors.push(e.message));
      await r.removeOpfsFolder('adapters/golden');
      await r.removeFromIndexedDb('golden');
      await r.opfsSource('adapters/golden').catch((e) => errors.push(e.message));
      return { files: [...files.keys()].sort(), sameBytes, logitsDiff, adaptedMovesLogits: Math.max(...want.map((v, i) => Math.abs(v - plain[i]))), download, errors };
    };`);
  t.deepEqual(out.files, ['adapter_config.json', 'adapter_model.safetensors', 'relpo_base.json']);
  t.deepEqual(out.sameBytes, { 'opfs:adapters/golden': true, 'indexeddb:relpo/golden': true });
  t.deepEqual(out.logitsDiff, { 'opfs:adapters/golden': 0, 'indexeddb:relpo/golden': 0 });
  t.true(out.adaptedMovesLogits > 1e-3, `the adapter changes the logits (${out.adaptedMovesLogits})`);
  t.true(out.download);
  t.deepEqual(out.errors, [
    'opfs:adapters/none: no such folder in the origin-private file system',
    'opfs:adapters/golden/nope.json: no such file',
    'indexeddb:relpo/none: nothing is stored under this key',
    'opfs:adapters/golden: no such folder in the origin-private file system',
  ]);
});
