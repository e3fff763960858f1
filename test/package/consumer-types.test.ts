// relpo's shipped declarations compile in a consumer's project with skipLibCheck off: the WebGPU
// types they name come with relpo (a dependency), not from its devDependencies.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test("a consumer's tsc (strict, skipLibCheck false) type-checks `import * as r from 'relpo'`", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-consumer-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'relpo'), 'dir');
  writeFileSync(join(dir, 'consumer.ts'), [
    "import * as r from 'relpo';",
    'export async function main(): Promise<number> {',
    '  const device = await r.init({ device: "cpu" });',
    '  const x = r.tensor([[1, 2], [3, 4]], undefined, { device, requiresGrad: true });',
    "  const loss = r.getLoss('rpo');",
    '  return (await x.data())[0] + Object.keys(loss.defaults).length;',
    '}',
    '',
  ].join('\n'));
  // A Node project: its own @types/node (here relpo's copy), nothing else, and no skipLibCheck.
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, skipLibCheck: false, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
    files: ['consumer.ts'],
  }));
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 240_000 });
  t.is(tsc.status, 0, `${tsc.stdout}${tsc.stderr}`);
});
