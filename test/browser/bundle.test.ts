// The browser bundle in headless Chromium: it imports without errors, exposes the Node entry's
// public API under the same names, finds navigator.gpu's adapter, and says clearly what needs Node.
import test from 'ava';
import * as relpo from '../../src/index.js';
import { openBrowser, runInPage } from '../helpers/browser.js';

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
