// The safetensors header: 8 bytes little-endian u64 N, then N bytes of UTF-8 JSON mapping each
// tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets into the byte buffer that
// follows the header), plus an optional "__metadata__" map of strings. Reading it touches only
// the first 8 + N bytes, so listing a multi-GB shard is cheap.
import { open, type FileHandle } from 'node:fs/promises';
import { SAFETENSORS_DTYPE_BITS, type SafetensorsDType, byteSize, isSafetensorsDType } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { readExactly } from './file-io.js';

export interface SafetensorsTensorInfo {
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data buffer (header.dataStart in the file). */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  path: string;
  /** N: the JSON's length in bytes, padding included. */
  headerLength: number;
  /** 8 + N: the file offset that data_offsets count from. */
  dataStart: number;
  fileSize: number;
  /**
   * Every tensor, in the order their bytes are stored (by data_offsets; empty tensors by name among
   * equals). Not the JSON's key order: JSON.parse moves integer-like keys such as "10" to the front.
   */
  tensors: Map<string, SafetensorsTensorInfo>;
  /** The "__metadata__" map ({} when absent). */
  metadata: Record<string, string>;
}

/** The safetensors crate's limit (MAX_HEADER_SIZE): a larger header is a corrupt length, not a header. */
const MAX_HEADER_BYTES = 100_000_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Checks the header JSON against the format and the file's size: every entry complete, sizes
 * matching shape × dtype, inside the buffer, and no two tensors sharing bytes.
 */
export function parseSafetensorsHeader(path: string, json: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerLength = json.length;
  const dataStart = 8 + headerLength;
  const bufferLength = fileSize - dataStart;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw new SafetensorsError(path, `the ${headerLength}-byte header is not valid UTF-8 (is this a safetensors file?)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(path, `the ${headerLength}-byte header is not valid JSON (${(e as Error).message}); it starts ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (!isObject(parsed)) {
    throw new SafetensorsError(path, `the header must be a JSON object of tensor entries, not ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  }

  const metadata: Record<string, string> = {};
  const entries: [string, SafetensorsTensorInfo][] = [];
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      if (entry === null) continue;
      if (!isObject(entry)) throw new SafetensorsError(path, `"__metadata__" must be an object of strings, not ${JSON.stringify(entry)}`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new SafetensorsError(path, `"__metadata__" values must be strings; "${k}" is ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push([name, parseEntry(path, name, entry, bufferLength)]);
  }
  entries.sort(([an, a], [bn, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1] || (an < bn ? -1 : an > bn ? 1 : 0));
  const tensors = new Map(entries);
  checkNoOverlap(path, tensors);
  return { path, headerLength, dataStart, fileSize, tensors, metadata };
}

function parseEntry(path: string, name: string, entry: unknown, bufferLength: number): SafetensorsTensorInfo {
  const fail = (msg: string) => new SafetensorsError(path, msg, name);
  if (!isObject(entry)) throw fail(`the entry must be an object with dtype, shape and data_offsets, not ${JSON.stringify(entry)}`);
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in entry)) throw fail(`the entry has no "${key}" (it needs dtype, shape and data_offsets; it has ${Object.keys(entry).join(', ') || 'nothing'})`);
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!isSafetensorsDType(dtype)) {
    throw fail(`unknown dtype ${JSON.stringify(dtype)} (the format defines ${Object.keys(SAFETENSORS_DTYPE_BITS).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) throw fail(`shape must be an array of non-negative integers, not ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw fail(`data_offsets must be [begin, end] with 0 ≤ begin ≤ end, not ${JSON.stringify(offsets)}`);
  }
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  const want = Number.isSafeInteger(numel) ? byteSize(dtype, numel) : null;
  const [begin, end] = offsets as [number, number];
  if (want === null) throw fail(`shape [${shape}] of ${dtype} does not fill a whole number of bytes`);
  if (end - begin !== want) {
    throw fail(`data_offsets [${begin}, ${end}] span ${end - begin} bytes, but shape [${shape}] of ${dtype} needs ${want}`);
  }
  if (end > bufferLength) {
    throw fail(`data_offsets [${begin}, ${end}] go past the end of the data buffer (${bufferLength} bytes): the file is truncated or the offsets are wrong`);
  }
  return { dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

/** Two tensors may not share bytes (empty tensors take none, so they cannot). */
function checkNoOverlap(path: string, tensors: Map<string, SafetensorsTensorInfo>): void {
  const spans = [...tensors].filter(([, t]) => t.dataOffsets[1] > t.dataOffsets[0]); // already in offset order
  for (let i = 1; i < spans.length; i++) {
    const [prevName, prev] = spans[i - 1];
    const [name, cur] = spans[i];
    if (cur.dataOffsets[0] < prev.dataOffsets[1]) {
      throw new SafetensorsError(path, `data_offsets [${cur.dataOffsets.join(', ')}] overlap tensor '${prevName}' at [${prev.dataOffsets.join(', ')}]`, name);
    }
  }
}

/**
 * N from the file's first 8 bytes, checked against the file's size and the format's limit: a
 * length past the end is a truncated file or not a safetensors file at all.
 */
function headerLengthOf(path: string, lengthBytes: Uint8Array, fileSize: number): number {
  const n = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(path, `the header length ${n} goes beyond the end of the file (${fileSize} bytes, so at most ${fileSize - 8}): truncated, or not a safetensors file`);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(path, `the header length ${n} is over the format's ${MAX_HEADER_BYTES}-byte limit`);
  return Number(n);
}

function checkMinimumSize(path: string, fileSize: number): void {
  if (fileSize < 8) throw new SafetensorsError(path, `the file is ${fileSize} bytes, shorter than the 8-byte header length that starts a safetensors file`);
}

/**
 * Random access to a safetensors file's bytes: a file handle's positioned reads, bytes in memory,
 * a FileSource's ranges (a page's File sliced). `path` is what errors name.
 */
export interface SafetensorsReader {
  path: string;
  size: number;
  /** Fills `into` from file offset `position`; `what` (and `tensor`) say what was being read, for errors. */
  readAt(into: Uint8Array, position: number, what: string, tensor?: string): Promise<void> | void;
}

/** A reader over a whole file held in memory. */
export function bytesReader(path: string, bytes: Uint8Array): SafetensorsReader {
  return { path, size: bytes.length, readAt: (into, position) => into.set(bytes.subarray(position, position + into.length)) };
}

/** The header through a reader: the 8-byte length, then the JSON, checked against the size. */
export async function readHeaderFrom(reader: SafetensorsReader): Promise<SafetensorsHeader> {
  const { path, size } = reader;
  checkMinimumSize(path, size);
  const lengthBytes = new Uint8Array(8);
  await reader.readAt(lengthBytes, 0, 'the header length');
  const json = new Uint8Array(headerLengthOf(path, lengthBytes, size));
  await reader.readAt(json, 8, 'the header');
  return parseSafetensorsHeader(path, json, size);
}

/** The header of a whole safetensors file held in memory (fetched, or a page's File); `path` is what errors name. */
export function parseSafetensorsBytesHeader(path: string, bytes: Uint8Array): SafetensorsHeader {
  checkMinimumSize(path, bytes.length);
  const n = headerLengthOf(path, bytes.subarray(0, 8), bytes.length);
  return parseSafetensorsHeader(path, bytes.subarray(8, 8 + n), bytes.length);
}

/** Opens a safetensors file and reads its header; the caller closes the handle. */
export async function openSafetensors(path: string): Promise<{ fh: FileHandle; header: SafetensorsHeader; reader: SafetensorsReader }> {
  const fh = await open(path, 'r');
  try {
    const reader: SafetensorsReader = { path, size: (await fh.stat()).size, readAt: (into, position, what, tensor) => readExactly(fh, into, position, path, what, tensor) };
    return { fh, header: await readHeaderFrom(reader), reader };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The header alone: names, dtypes, shapes, offsets and metadata, without reading any tensor data. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const { fh, header } = await openSafetensors(path);
  await fh.close();
  return header;
}
