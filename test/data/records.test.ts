// preferenceDatasetFromRecords: records in memory make the dataset the same records make as JSONL
// lines of a file, with the file reader's checks (errors name the record as "<name>:<i + 1>").
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'relpo-records-'));
/** The records as a JSONL file's lines: its path and the dataset the file reader gives. */
const viaFile = async (records: unknown[], name: string) => {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, records.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return { path, dataset: await r.readPreferenceJsonl(path) };
};

test('preferenceDatasetFromRecords: the dataset a JSONL file of the same records gives (unpaired, paired, implicit prompt, conversational)', async (t) => {
  const sets: Record<string, unknown[]> = {
    unpaired: [{ prompt: 'Hi', completion: ' there.', label: true }, { prompt: 'Hi', completion: ' go.', label: false }, { prompt: 'Yo', completion: ' hey.', label: true }],
    paired: [{ prompt: 'Hi', chosen: ' there.', rejected: ' go.' }, { prompt: 'Yo', chosen: ' hey.', rejected: ' hey.' }],
    implicit: [{ chosen: 'The sky is blue.', rejected: 'The sky is green.' }],
    conversational: [{ prompt: [{ role: 'user', content: 'Hi' }], completion: [{ role: 'assistant', content: 'Hello.' }], label: true }],
  };
  for (const [name, records] of Object.entries(sets)) {
    // Named as the file, so paths and warnings ("<path>:2: 'chosen' is identical …") read the same.
    const { path, dataset } = await viaFile(records, name);
    t.deepEqual(r.preferenceDatasetFromRecords(records, { name: path }), dataset, name);
  }
  t.is(r.preferenceDatasetFromRecords(sets.unpaired).path, 'records');
});

test('preferenceDatasetFromRecords: a bad record is an error naming it; options as the file reader\'s', (t) => {
  const rows = [{ prompt: 'Hi', completion: ' there.', label: true }, { prompt: 'Hi', completion: ' go.', label: 'no' }];
  t.throws(() => r.preferenceDatasetFromRecords(rows, { name: 'feedback' }), { instanceOf: r.PreferenceDataError, message: /^feedback:2: field 'label' must be a boolean/ });
  t.throws(() => r.preferenceDatasetFromRecords([], { name: 'feedback' }), { message: /^feedback: empty file: no records/ });
  t.throws(() => r.preferenceDatasetFromRecords([{ prompt: 'a', chosen: 'b', rejected: 'b' }], { onIdentical: 'error' }), { message: /^records:1: 'chosen' is identical to 'rejected'/ });
});
