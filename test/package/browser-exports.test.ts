// package.json's exports: a bundler building for the browser resolves `import 'relpo'` to the
// browser bundle, Node to the Node entry (esbuild resolving the package's own name, as a consumer's
// bundler resolves it from node_modules).
import test from 'ava';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function resolvedEntry(platform: 'browser' | 'node'): Promise<string[]> {
  const result = await build({
    stdin: { contents: "import * as r from 'relpo'; export const n = Object.keys(r).length;", resolveDir: ROOT },
    bundle: true, write: false, format: 'esm', platform, metafile: true, logLevel: 'silent',
    // Only where 'relpo' leads matters here: leave its own imports unbundled.
    plugins: [{ name: 'stop-at-entry', setup: (b) => b.onResolve({ filter: /.*/ }, (args) => (args.importer.includes('/dist/') ? { external: true } : undefined)) }],
  });
  return Object.keys(result.metafile.inputs).filter((f) => f.startsWith('dist/'));
}

test("a browser bundler resolves 'relpo' to dist/browser/relpo.js, Node to dist/src/index.js", async (t) => {
  t.deepEqual(await resolvedEntry('browser'), ['dist/browser/relpo.js'], 'npm run build:browser first');
  t.deepEqual(await resolvedEntry('node'), ['dist/src/index.js']);
});
