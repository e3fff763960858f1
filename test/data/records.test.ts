// Datasets from records in memory: the same dataset as the JSONL file of those records, and errors naming the record.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preferenceDatasetFromRecords, readPreferenceJsonl } from '../../src/data/index.js';

const unpaired = [
  { prompt: 'tell me about the cat', completion: 'the cat is happy .', label: true },
  { prompt: 'tell me about the dog', completion: 'the dog is sad .', label: false },
  { prompt: 'tell me about the cat', completion: 'the cat is cold .', label: false },
];

test('unpaired records give the dataset their JSONL file gives', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'relpo-records-')), 'feedback.jsonl');
  writeFileSync(path, unpaired.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const fromFile = await readPreferenceJsonl(path);
  const fromRecords = preferenceDatasetFromRecords(unpaired, path);
  t.deepEqual(fromRecords, fromFile);
  t.false(fromRecords.paired);
  t.deepEqual(fromRecords.promptIds, [0, 1, 0]);
});

test('paired records, and bad records named by their index', (t) => {
  const ds = preferenceDatasetFromRecords([{ prompt: 'p', chosen: 'a', rejected: 'b' }], 'pairs');
  t.true(ds.paired);
  t.is(ds.path, 'pairs');
  t.throws(() => preferenceDatasetFromRecords([unpaired[0], { prompt: 'p', completion: 'c', label: 'yes' }], 'feedback'), {
    message: "feedback:2: field 'label' must be a boolean (true = desirable), got string",
  });
  t.throws(() => preferenceDatasetFromRecords([], 'feedback'), { message: /^feedback: empty file: no records/ });
});
