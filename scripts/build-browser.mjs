// npm run build:browser: src/browser/index.ts → dist/browser/relpo.js, one ES module a page imports
// directly (with its source map). Node-only modules are swapped for the browser's (SWAPS); what
// differs from Node is in docs/browser.md.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const shim = (name) => `${root}src/browser/node/${name}.ts`;

/** Import specifier → the file the browser build uses instead. */
export const SWAPS = {
  'node:fs': shim('fs'),
  'node:fs/promises': shim('fs-promises'),
  'node:path': shim('path'),
  'node:url': shim('url'),
  'node:module': shim('module'),
  'node:crypto': shim('crypto'),
  'node:readline': shim('readline'),
  'node:child_process': shim('child-process'),
  'node:os': shim('os'),
  webgpu: shim('webgpu'),
  '@huggingface/hub': shim('hub'),
};

/** Source files the browser build replaces by another (relative to src/). */
export const FILE_SWAPS = {
  'io/tokenizer-backend.ts': 'io/tokenizer-backend-js.ts',
};

const swapPlugin = {
  name: 'relpo-browser-swaps',
  setup(b) {
    const specs = Object.keys(SWAPS).map((s) => s.replace(/[/.@-]/g, '\\$&'));
    b.onResolve({ filter: new RegExp(`^(${specs.join('|')})$`) }, (args) => ({ path: SWAPS[args.path] }));
    for (const [from, to] of Object.entries(FILE_SWAPS)) {
      const base = from.split('/').pop().replace(/\.ts$/, '');
      b.onResolve({ filter: new RegExp(`/${base.replace(/[.-]/g, '\\$&')}\\.js$`) }, async (args) => {
        if (args.pluginData === 'swapped') return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'swapped' });
        if (resolved.path !== `${root}src/${from}`) return undefined;
        return { path: `${root}src/${to}` };
      });
    }
  },
};

const started = Date.now();
const result = await build({
  entryPoints: [`${root}src/browser/index.ts`],
  outfile: `${root}dist/browser/relpo.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [swapPlugin],
});
const bytes = result.metafile.outputs['dist/browser/relpo.js']?.bytes ?? Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes;
console.log(`dist/browser/relpo.js: ${(bytes / 1024).toFixed(0)} KiB in ${Date.now() - started} ms`);
