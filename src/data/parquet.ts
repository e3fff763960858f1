// Preference datasets in Parquet, the format Hugging Face datasets are stored in (a split's
// train-00000-of-00001.parquet, …): each row is checked and recorded exactly as a JSONL line is
// (TRL's column names; see docs/data.md), read with hyparquet (pure JavaScript; snappy built in).
// Errors name the file and the 1-based row ("file:row: …" in the line's place).
import { open } from 'node:fs/promises';
import { parquetReadObjects, type AsyncBuffer } from 'hyparquet';
import { PreferenceDataError, type PreferenceDataset, type ReadPreferenceOptions, recordReader } from './jsonl.js';

/** A file as hyparquet reads it: byte ranges on demand, so only the needed parts are read. */
async function fileBuffer(path: string): Promise<{ buffer: AsyncBuffer; close: () => Promise<void> }> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    buffer: {
      byteLength: size,
      async slice(start: number, end = size) {
        const out = Buffer.alloc(end - start);
        await fh.read(out, 0, out.length, start);
        return out.buffer.slice(out.byteOffset, out.byteOffset + out.length) as ArrayBuffer;
      },
    },
    close: () => fh.close(),
  };
}

/** Reads a preference dataset from a Parquet file (all of its row groups), with the JSONL reader's checks. */
export async function readPreferenceParquet(path: string, options: ReadPreferenceOptions = {}): Promise<PreferenceDataset> {
  const reader = recordReader(path, options);
  let file: Awaited<ReturnType<typeof fileBuffer>>;
  try {
    file = await fileBuffer(path);
  } catch (e) {
    throw new PreferenceDataError(path, undefined, `cannot read the file: ${(e as Error).message}`);
  }
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({ file: file.buffer });
  } catch (e) {
    throw new PreferenceDataError(path, undefined, `not a readable Parquet file: ${(e as Error).message}`);
  } finally {
    await file.close();
  }
  rows.forEach((row, i) => reader.add(row, i + 1));
  return reader.finish();
}
