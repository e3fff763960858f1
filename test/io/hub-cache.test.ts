// Models and datasets by Hugging Face id from a hub cache folder built on disk (nothing is downloaded).
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hubCacheDir, parseRepoId, resolveHubPath } from '../../src/io/hub-cache.js';

const MAIN = 'a'.repeat(40), V1 = 'b'.repeat(40);

function cache(): string {
  const hub = mkdtempSync(join(tmpdir(), 'relpo-hub-'));
  const model = join(hub, 'models--org--tiny');
  for (const [ref, commit] of [['main', MAIN], ['v1', V1]]) {
    mkdirSync(join(model, 'refs'), { recursive: true });
    writeFileSync(join(model, 'refs', ref), `${commit}\n`);
    mkdirSync(join(model, 'snapshots', commit), { recursive: true });
    writeFileSync(join(model, 'snapshots', commit, 'config.json'), '{}');
  }
  const data = join(hub, 'datasets--org--prefs');
  mkdirSync(join(data, 'refs'), { recursive: true });
  writeFileSync(join(data, 'refs', 'main'), MAIN);
  mkdirSync(join(data, 'snapshots', MAIN, 'data'), { recursive: true });
  return hub;
}

test('an id resolves through refs/<revision> to its snapshot; a commit hash directly; datasets likewise', (t) => {
  const hub = cache();
  const env = { HF_HUB_CACHE: hub };
  t.is(resolveHubPath('org/tiny', 'model', env), join(hub, 'models--org--tiny', 'snapshots', MAIN));
  t.is(resolveHubPath('org/tiny@v1', 'model', env), join(hub, 'models--org--tiny', 'snapshots', V1));
  t.is(resolveHubPath(`org/tiny@${V1}`, 'model', env), join(hub, 'models--org--tiny', 'snapshots', V1));
  t.is(resolveHubPath('org/prefs', 'dataset', env), join(hub, 'datasets--org--prefs', 'snapshots', MAIN));
});

test('what is not in the cache is an error naming the path looked at; a local path wins; files and plain names are not ids', (t) => {
  const hub = cache();
  const env = { HF_HUB_CACHE: hub };
  t.throws(() => resolveHubPath('org/other', 'model', env), { message: new RegExp(`model 'org/other' is not in the Hugging Face cache: no ${hub}/models--org--other .*huggingface-cli download org/other`) });
  t.throws(() => resolveHubPath('org/tiny@v2', 'model', env), { message: /revision 'v2' is not in the cache \(no \S*models--org--tiny\/refs\/v2\)/ });
  t.throws(() => resolveHubPath(`org/tiny@${'c'.repeat(40)}`, 'model', env), { message: /has no snapshot in the cache/ });
  t.throws(() => resolveHubPath('org/prefs', 'model', env), { message: /model 'org\/prefs' is not in the Hugging Face cache/ });
  const local = mkdtempSync(join(tmpdir(), 'relpo-local-'));
  t.is(resolveHubPath(local, 'model', env), local);
  t.is(resolveHubPath('data/prefs.jsonl', 'dataset', env), 'data/prefs.jsonl');
  t.is(parseRepoId('prefs.jsonl'), null);
  t.deepEqual(parseRepoId('meta-llama/Llama-3.2-1B@main'), { repo: 'meta-llama/Llama-3.2-1B', revision: 'main' });
});

test('the cache folder: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub', (t) => {
  t.is(hubCacheDir({ HF_HUB_CACHE: '/x/hub', HF_HOME: '/y' }), '/x/hub');
  t.is(hubCacheDir({ HF_HOME: '/y' }), join('/y', 'hub'));
  t.regex(hubCacheDir({}), /\.cache\/huggingface\/hub$/);
});
