// Runs every ```ts block of docs/getting-started.md as written (the `relpo` import pointed at this
// build), so the page cannot drift from the code.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const page = readFileSync(join(root, 'docs/getting-started.md'), 'utf8');
const blocks = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
const entry = pathToFileURL(join(root, 'dist/src/index.js')).href;
const dir = mkdtempSync(join(tmpdir(), 'relpo-docs-'));

test('docs/getting-started.md has code to run', (t) => {
  t.true(blocks.length >= 2);
});

blocks.forEach((code, i) => {
  test(`docs/getting-started.md example ${i + 1} runs`, (t) => {
    const file = join(dir, `example-${i + 1}.mjs`);
    writeFileSync(file, `${code.replaceAll("from 'relpo'", `from '${entry}'`)}\nawait r.shutdown();\n`);
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
    t.is(run.status, 0, run.stderr);
    t.regex(run.stdout, /\d/);
  });
});
