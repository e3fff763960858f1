// Parquet preference files, written here with hyparquet-writer (as a Hugging Face split would be:
// string columns, a boolean label, snappy pages) and read with readPreferenceParquet.
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readPreferenceData, readPreferenceJsonl, readPreferenceParquet, recordLocation } from '../../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'relpo-parquet-'));

function parquetFile(name: string, columns: Record<string, (string | boolean)[]>): string {
  const columnData = Object.entries(columns).map(([n, data]) => ({ name: n, data, type: typeof data[0] === 'boolean' ? ('BOOLEAN' as const) : ('STRING' as const) }));
  const path = join(dir, name);
  writeFileSync(path, Buffer.from(parquetWriteBuffer({ columnData })));
  return path;
}

const PAIRS = [
  { prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' },
  { prompt: 'Water is', chosen: ' wet.', rejected: ' dry.' },
  { prompt: 'The sky is', chosen: ' clear.', rejected: ' plaid.' },
];

test('a paired Parquet file reads as the same JSONL would: records, rows as lines, prompt ids', async (t) => {
  const path = parquetFile('pairs.parquet', { prompt: PAIRS.map((p) => p.prompt), chosen: PAIRS.map((p) => p.chosen), rejected: PAIRS.map((p) => p.rejected) });
  const jsonl = join(dir, 'pairs.jsonl');
  writeFileSync(jsonl, PAIRS.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const [pq, js] = [await readPreferenceParquet(path), await readPreferenceJsonl(jsonl)];
  t.is(pq.format, 'paired');
  t.deepEqual(pq.records, js.records);
  t.deepEqual(pq.promptIds, [0, 1, 0]);
  t.deepEqual((await readPreferenceData(path)).records, js.records, 'readPreferenceData picks Parquet by the extension');
  t.deepEqual((await readPreferenceData(jsonl)).records, js.records);
});

test('unpaired Parquet (boolean label), and errors that name the file and the row', async (t) => {
  const path = parquetFile('kto.parquet', { prompt: ['a', 'a', 'b'], completion: ['good', 'bad', 'fine'], label: [true, false, true] });
  const ds = await readPreferenceParquet(path);
  t.false(ds.paired);
  t.deepEqual(ds.records.map((r) => [r.line, (r as { label: boolean }).label]), [[1, true], [2, false], [3, true]]);
  const bad = parquetFile('bad.parquet', { prompt: ['p', 'q'], chosen: ['x', ''], rejected: ['y', 'z'] });
  await t.throwsAsync(readPreferenceParquet(bad), { message: /bad\.parquet:2: field 'chosen' must be a non-empty string/ });
  const notParquet = join(dir, 'fake.parquet');
  writeFileSync(notParquet, 'prompt,chosen,rejected\n');
  await t.throwsAsync(readPreferenceParquet(notParquet), { message: /fake\.parquet: not a readable Parquet file/ });
  await t.throwsAsync(readPreferenceParquet(join(dir, 'missing.parquet')), { message: /missing\.parquet: cannot read the file/ });
});

test('a dataset folder: a split\'s shards (Parquet and JSONL) merged, prompt ids across shards, each record\'s own file', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'relpo-dataset-dir-'));
  mkdirSync(join(root, 'data'));
  const write = (name: string, rows: typeof PAIRS) =>
    writeFileSync(join(root, 'data', name), Buffer.from(parquetWriteBuffer({ columnData: ['prompt', 'chosen', 'rejected'].map((k) => ({ name: k, data: rows.map((p) => p[k as keyof (typeof PAIRS)[number]]), type: 'STRING' as const })) })));
  write('train-00000-of-00002.parquet', PAIRS.slice(0, 2));
  writeFileSync(join(root, 'data', 'train-00001-of-00002.jsonl'), [{ prompt: 'The sky is', chosen: ' clear.', rejected: ' plaid.' }, { prompt: 'Fire is', chosen: ' hot.', rejected: ' cold.' }].map((p) => JSON.stringify(p)).join('\n') + '\n');
  write('test-00000-of-00001.parquet', [PAIRS[1]]);
  write('train_prefs-00000-of-00001.parquet', [PAIRS[0]]);
  const ds = await readPreferenceData(root);
  t.regex(ds.path, /\(split train\)$/);
  t.true(ds.paired);
  t.is(ds.records.length, 4);
  t.deepEqual(ds.promptIds, [0, 1, 0, 2], 'one id per distinct prompt across the shards');
  t.deepEqual(ds.prompts, ['The sky is', 'Water is', 'Fire is']);
  t.deepEqual(ds.records.map((r) => [r.file!.slice(root.length + 6), r.line]), [['train-00000-of-00002.parquet', 1], ['train-00000-of-00002.parquet', 2], ['train-00001-of-00002.jsonl', 1], ['train-00001-of-00002.jsonl', 2]]);
  t.is(recordLocation(ds, ds.records[3]), `${join(root, 'data', 'train-00001-of-00002.jsonl')}:2`);
  t.is((await readPreferenceData(root, { split: 'test' })).records.length, 1);
  t.is((await readPreferenceData(root, { split: 'train_prefs' })).records.length, 1, "'train' does not take train_prefs' shards, nor the reverse");
  await t.throwsAsync(readPreferenceData(root, { split: 'validation' }), { message: /no files of split 'validation' .*found data\/test-00000-of-00001\.parquet/ });
  // Shards of one split must share a format.
  writeFileSync(join(root, 'data', 'train-00002-of-00002.jsonl'), JSON.stringify({ prompt: 'a', completion: 'b', label: true }) + '\n');
  await t.throwsAsync(readPreferenceData(root), { message: /train-00002-of-00002\.jsonl: format unpaired, but .*train-00000-of-00002\.parquet is paired/ });
});
