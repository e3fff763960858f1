// A preference dataset from records held in memory (a page's thumbs up and down, feedback from an
// API) rather than a file: the checks and format detection of a JSONL file's lines, record i
// standing where line i + 1 would (errors read "<name>:<i + 1>: …").
import { type PreferenceDataset, type ReadPreferenceOptions, recordReader } from './jsonl.js';

export interface PreferenceRecordsOptions extends ReadPreferenceOptions {
  /** What the dataset's path and errors say (default 'records'). */
  name?: string;
}

/**
 * Records such as {prompt, completion, label} (unpaired), {prompt, chosen, rejected} (paired) or
 * {chosen, rejected} (implicit prompt), standard or conversational, as a PreferenceDataset.
 */
export function preferenceDatasetFromRecords(records: readonly unknown[], options: PreferenceRecordsOptions = {}): PreferenceDataset {
  const reader = recordReader(options.name ?? 'records', options);
  records.forEach((record, i) => reader.add(record, i + 1));
  return reader.finish();
}
