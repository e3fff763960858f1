// Preference datasets: JSONL and Parquet reading in TRL's formats, validation, prompt ids, batching, splits.
export {
  readPreferenceJsonl, extractImplicitPrompt, recordLocation, PreferenceDataError, PREFERENCE_FORMATS, MESSAGE_ROLES,
  type Message, type MessageRole, type PreferenceText, type PreferenceFormat, type PairedRecord, type UnpairedRecord,
  type PairedPreferenceDataset, type UnpairedPreferenceDataset, type PreferenceDataset, type ReadPreferenceOptions,
} from './jsonl.js';
export {
  preferenceBatches, planPreferenceBatches, splitTrainEval, shuffledIndices,
  type PreferenceBatchOptions, type IndexBatch, type SplitOptions,
} from './batches.js';
export {
  tokenizeRows, tokenizedFromIds, tokenizePreferenceBatch, tokenizePromptCompletions, recordTexts, batchRowTexts,
  type TokenizeOptions, type TokenizedRows, type TokenizedPreferenceBatch, type TokenizedGroup,
} from './tokenize.js';
export { readPreferenceParquet } from './parquet.js';
export { preferenceDatasetFromRecords, type PreferenceRecordsOptions } from './records.js';
export { readPreferenceData, splitFiles, mergeDatasets } from './read.js';
