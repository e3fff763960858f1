// The browser-storage helpers in Node: each says it needs a browser API, naming what it was asked
// to store (their work in Chromium is test/browser/storage.test.ts).
import test from 'ava';
import * as r from '../../src/index.js';

test('OPFS, IndexedDB and downloads are refused in Node with an error naming the API and the target', async (t) => {
  const files = new Map([['a.json', new TextEncoder().encode('{}')]]);
  await t.throwsAsync(r.saveFilesToOpfs('adapters/run-1', files), { message: /^opfs:adapters\/run-1: navigator\.storage\.getDirectory \(the origin-private file system\) is a browser API/ });
  await t.throwsAsync(r.opfsSource('adapters/run-1'), { message: /^opfs:adapters\/run-1: .* is a browser API/ });
  await t.throwsAsync(r.saveFilesToIndexedDb('run-1', files), { message: /^indexeddb:relpo\/run-1: IndexedDB is a browser API/ });
  await t.throwsAsync(r.indexedDbSource('run-1', 'mine'), { message: /^indexeddb:mine\/run-1: IndexedDB is a browser API/ });
  t.throws(() => r.downloadBytes(new Uint8Array(1), 'adapter_model.safetensors'), { message: /^adapter_model\.safetensors: a download \(document\) is a browser API/ });
});
