// A preference dataset from records already in memory (a page's feedback, rows built by a script):
// the same checks, prompt ids and errors as a JSONL file, with the record's 1-based index for a line.
import { type PreferenceDataset, type ReadPreferenceOptions, recordReader } from './jsonl.js';

/**
 * Builds a dataset from parsed records in any of TRL's formats ({prompt, chosen, rejected},
 * {chosen, rejected}, {prompt, completion, label}; strings or message lists), detected from the
 * first record as readPreferenceJsonl does. `name` stands for the file in errors ("name:3: …",
 * 3 being the record's 1-based index) and becomes the dataset's path.
 */
export function preferenceDatasetFromRecords(records: readonly unknown[], name = 'records', options: ReadPreferenceOptions = {}): PreferenceDataset {
  const reader = recordReader(name, options);
  records.forEach((rec, i) => reader.add(rec, i + 1));
  return reader.finish();
}
