// The layering of src/: no import cycles (between files, or between sibling folders such as two
// kernel families) and no import from a higher layer into a lower one. Walks the TypeScript
// sources, so `import type` counts (see test/helpers/import-graph.ts for why).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { danglingImports, documentedLayers, fileCycles, folderCycles, importsOf, readImportGraph, upwardImports, type ImportGraph } from '../helpers/import-graph.js';

/**
 * src/'s layers, lowest first: a file may import from its own layer and the layers before it.
 * A root file is a layer of its own (index: the public entry). docs/architecture.md lists them in
 * this order.
 */
const LAYERS = ['autograd', 'device', 'distributed', 'kernels', 'nn', 'optim', 'io', 'models', 'data', 'losses', 'train', 'eval', 'experiment', 'index', 'browser', 'cli'] as const;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const graph = readImportGraph(`${ROOT}src`);
const list = (lines: string[]) => `\n  ${lines.join('\n  ')}`;

test('src/ has no import cycle between files', (t) => {
  const cycles = fileCycles(graph);
  t.deepEqual(cycles, [], `import cycles:${list(cycles)}`);
});

test('src/ has no import cycle between sibling folders (kernel families, device backends)', (t) => {
  const cycles = folderCycles(graph);
  t.deepEqual(cycles, [], `folder cycles:${list(cycles)}`);
});

test(`src/ imports only downward: ${LAYERS.join(' < ')}`, (t) => {
  const up = upwardImports(graph, LAYERS);
  t.deepEqual(up, [], `upward imports:${list(up)}`);
});

test('every relative import in src/ names a source file', (t) => {
  const dangling = danglingImports(graph);
  t.deepEqual(dangling, [], `imports of missing files:${list(dangling)}`);
});

test('docs/architecture.md lists the layers in this order', (t) => {
  t.deepEqual(documentedLayers(readFileSync(`${ROOT}docs/architecture.md`, 'utf8')), [...LAYERS]);
});

// The checker itself, on small made-up trees.

test('importsOf reads every import form, type-only ones marked, and skips packages', (t) => {
  const text = [
    "import { a, type B } from './a.js';",
    "import type { C } from '../c.js';",
    'import {',
    '  d,',
    "} from './d/index.js';",
    "export * from './e.js';",
    "export type { F } from './f.js';",
    "import './side-effect.js';",
    "import { x } from 'some-package';",
    "const m = await import('./lazy.js');",
    "// import { no } from './comment.js' is not at a line start",
  ].join('\n');
  t.deepEqual(importsOf('k/m/op.ts', text), [
    { to: 'k/m/a.ts', typeOnly: false },
    { to: 'k/c.ts', typeOnly: true },
    { to: 'k/m/d/index.ts', typeOnly: false },
    { to: 'k/m/e.ts', typeOnly: false },
    { to: 'k/m/f.ts', typeOnly: true },
    { to: 'k/m/side-effect.ts', typeOnly: false },
    { to: 'k/m/lazy.ts', typeOnly: false },
  ]);
});

test('the checks report cycles as paths, folder cycles, upward imports and files in no layer', (t) => {
  const g: ImportGraph = new Map([
    ['low/a.ts', [{ to: 'low/b.ts', typeOnly: false }]],
    ['low/b.ts', [{ to: 'low/c.ts', typeOnly: true }, { to: 'high/x.ts', typeOnly: true }]],
    ['low/c.ts', [{ to: 'low/a.ts', typeOnly: false }]],
    ['low/p/one.ts', [{ to: 'low/q/two.ts', typeOnly: false }]],
    ['low/q/two.ts', [{ to: 'low/q/three.ts', typeOnly: false }]],
    ['low/q/three.ts', [{ to: 'low/p/four.ts', typeOnly: false }]],
    ['low/p/four.ts', []],
    ['high/x.ts', [{ to: 'low/a.ts', typeOnly: false }, { to: 'gone.ts', typeOnly: false }]],
    ['stray/y.ts', []],
  ]);
  t.deepEqual(fileCycles(g), ['high/x.ts → low/a.ts → low/b.ts → high/x.ts (all of: high/x.ts, low/a.ts, low/b.ts, low/c.ts)']);
  t.deepEqual(folderCycles(g), ['high/ → low/ → high/', 'low/p/ → low/q/ → low/p/']);
  t.deepEqual(upwardImports(g, ['low', 'high']), [
    'low/b.ts → high/x.ts (type only): low is below high',
    'stray is in no layer (add it to the layer order and to docs/architecture.md)',
  ]);
  t.deepEqual(danglingImports(g), ['high/x.ts → gone.ts']);
});
