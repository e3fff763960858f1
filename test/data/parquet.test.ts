// Parquet preference files, written here with hyparquet-writer (as a Hugging Face split would be:
// string columns, a boolean label, snappy pages) and read with readPreferenceParquet.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readPreferenceData, readPreferenceJsonl, readPreferenceParquet } from '../../src/data/index.js';

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
