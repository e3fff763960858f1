// One entry point for preference data: a .parquet file, a JSONL file (any other name), or a dataset
// folder as Hugging Face lays one out (a split's shards, `train-00000-of-00002.parquet`, or
// `train.jsonl`, in the folder or its data/ subfolder), read shard by shard and merged.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type PreferenceDataset, type ReadPreferenceOptions, PreferenceDataError, promptTable, readPreferenceJsonl } from './jsonl.js';
import { readPreferenceParquet } from './parquet.js';

function readFile(path: string, options: ReadPreferenceOptions): Promise<PreferenceDataset> {
  return /\.parquet$/i.test(path) ? readPreferenceParquet(path, options) : readPreferenceJsonl(path, options);
}

/** Reads a preference dataset from a .parquet file, a JSONL file, or a dataset folder (options.split). */
export async function readPreferenceData(path: string, options: ReadPreferenceOptions = {}): Promise<PreferenceDataset> {
  if (!(existsSync(path) && statSync(path).isDirectory())) return readFile(path, options);
  const files = splitFiles(path, options.split ?? 'train');
  const parts: PreferenceDataset[] = [];
  for (const f of files) parts.push(await readFile(f, options));
  return mergeDatasets(parts, `${path} (split ${options.split ?? 'train'})`);
}

/** The shards of one split in a dataset folder (or its data/ subfolder), in name order. */
export function splitFiles(dir: string, split: string): string[] {
  const escaped = split.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const shard = new RegExp(`^${escaped}(-\\d+-of-\\d+|-\\d+)?\\.(parquet|jsonl)$`, 'i');
  const seen: string[] = [];
  for (const d of [dir, join(dir, 'data')]) {
    if (!existsSync(d) || !statSync(d).isDirectory()) continue;
    const names = readdirSync(d).filter((n) => /\.(parquet|jsonl)$/i.test(n)).sort();
    seen.push(...names.map((n) => join(d, n)));
    const hits = names.filter((n) => shard.test(n)).map((n) => join(d, n));
    if (hits.length > 0) return hits;
  }
  throw new PreferenceDataError(dir, undefined, `no files of split '${split}' (looked for ${split}.jsonl, ${split}.parquet and ${split}-00000-of-0000N.parquet shards here and in data/)` +
    (seen.length ? `; found ${seen.map((f) => f.slice(dir.length + 1)).join(', ')}` : '; no .parquet or .jsonl files at all'));
}

/**
 * One dataset from several of the same format: records in file order, each tagged with its file,
 * prompt ids over the distinct prompts of all of them.
 */
export function mergeDatasets(parts: PreferenceDataset[], path: string): PreferenceDataset {
  if (parts.length === 1) return parts[0];
  const first = parts[0];
  const { prompts, idOf } = promptTable();
  const records: (PreferenceDataset['records'][number])[] = [];
  for (const part of parts) {
    if (part.format !== first.format) {
      throw new PreferenceDataError(part.path, undefined, `format ${part.format}, but ${first.path} is ${first.format}: the files of one split must share a format`);
    }
    for (const r of part.records) records.push({ ...r, file: part.path, promptId: idOf(part.prompts[r.promptId]) });
  }
  const base = { path, format: first.format, conversational: first.conversational, promptIds: records.map((r) => r.promptId), prompts, warnings: parts.flatMap((p) => p.warnings) };
  return first.paired
    ? { ...base, paired: true, records: records as Extract<PreferenceDataset, { paired: true }>['records'] }
    : { ...base, paired: false, records: records as Extract<PreferenceDataset, { paired: false }>['records'] };
}
