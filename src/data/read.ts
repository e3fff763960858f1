// One entry point for preference data files: Parquet by its extension, JSONL otherwise.
import { type PreferenceDataset, type ReadPreferenceOptions, readPreferenceJsonl } from './jsonl.js';
import { readPreferenceParquet } from './parquet.js';

/** Reads a preference dataset from a .parquet file or a JSONL file (any other name). */
export function readPreferenceData(path: string, options: ReadPreferenceOptions = {}): Promise<PreferenceDataset> {
  return /\.parquet$/i.test(path) ? readPreferenceParquet(path, options) : readPreferenceJsonl(path, options);
}
