// Hugging Face checkpoint folders: config.json beside the weights, which are one model.safetensors or
// shards listed by model.safetensors.index.json ({ "metadata": {…}, "weight_map": { name: file } }).
// A checkpoint is a folder path (read with positioned reads: a shard is never read whole) or any
// FileSource (a URL, a page's files), read with no Node API.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../autograd/tensor.js';
import { type SafetensorsHeader, type SafetensorsReader, bytesReader, readHeaderFrom, readSafetensorsHeader } from './safetensors/header.js';
import { SafetensorsError } from './safetensors/errors.js';
import { loadSafetensors, loadSafetensorsFrom, type LoadSafetensorsOptions } from './safetensors/load.js';
import { type FileSource, joinName } from './file-source.js';

/** A checkpoint folder's path, or its files from anywhere else. */
export type CheckpointSource = string | FileSource;

/** The source as errors name it: the folder, or the source's name. */
export function sourceName(source: CheckpointSource): string {
  return typeof source === 'string' ? source : source.name;
}

/** A file of the source as errors name it: a path or a URL. */
export function sourceFile(source: CheckpointSource, file: string): string {
  return typeof source === 'string' ? join(source, file) : joinName(source.name, file);
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(readonly path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
  }
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Whether the source has the file. */
export async function sourceHas(source: CheckpointSource, file: string): Promise<boolean> {
  return typeof source === 'string' ? access(join(source, file)).then(() => true, () => false) : source.has(file);
}

/** A JSON object from a file, with errors that name the file. */
export async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  return jsonObject(path, await jsonValue(path, () => readFile(path, 'utf8')));
}

/** A JSON object from a file of the source, with errors that name the file. */
export async function readSourceJson(source: CheckpointSource, file: string): Promise<Record<string, unknown>> {
  return jsonObject(sourceFile(source, file), await readSourceJsonValue(source, file));
}

/** Any JSON value (an array, say) from a file of the source, with errors that name the file. */
export function readSourceJsonValue(source: CheckpointSource, file: string): Promise<unknown> {
  const path = sourceFile(source, file);
  return jsonValue(path, () => (typeof source === 'string' ? readFile(path, 'utf8') : source.readText(file)));
}

async function jsonValue(path: string, read: () => Promise<string>): Promise<unknown> {
  let text: string;
  try {
    text = await read();
  } catch (e) {
    throw new CheckpointError(path, `cannot be read (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(path, `is not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

function jsonObject(path: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new CheckpointError(path, 'must hold a JSON object');
  return value as Record<string, unknown>;
}

/** The checkpoint's config.json (model hyper-parameters, as transformers writes them). */
export function readCheckpointConfig(source: CheckpointSource): Promise<Record<string, unknown>> {
  return readSourceJson(source, 'config.json');
}

/**
 * Reads a checkpoint's safetensors files: positioned reads from a folder; from a FileSource with
 * ranges (a page's files, a URL) only the header and the wanted tensors; from any other FileSource
 * each file whole, the last one kept, so loading a shard tensor by tensor reads it once.
 */
export class CheckpointFiles {
  private last: { file: string; bytes: Uint8Array } | undefined;
  constructor(readonly source: CheckpointSource) {}

  private async reader(source: FileSource, file: string): Promise<SafetensorsReader> {
    const path = sourceFile(source, file);
    if (source.size && source.readRange) {
      const readRange = source.readRange.bind(source);
      return {
        path, size: await source.size(file),
        readAt: async (into, position, what, tensor) => {
          const got = await readRange(file, position, position + into.length);
          if (got.length !== into.length) throw new SafetensorsError(path, `got ${got.length} of the ${into.length} bytes of ${what} at offset ${position}: was the file changed while reading?`, tensor);
          into.set(got);
        },
      };
    }
    if (this.last?.file !== file) this.last = { file, bytes: await source.readBytes(file) };
    return bytesReader(path, this.last.bytes);
  }

  async header(file: string): Promise<SafetensorsHeader> {
    const { source } = this;
    return typeof source === 'string' ? readSafetensorsHeader(join(source, file)) : readHeaderFrom(await this.reader(source, file));
  }

  async load(file: string, opts: LoadSafetensorsOptions): Promise<Map<string, Tensor>> {
    const { source } = this;
    return typeof source === 'string' ? loadSafetensors(join(source, file), opts) : loadSafetensorsFrom(await this.reader(source, file), opts);
  }
}

export interface CheckpointIndex {
  /** The checkpoint as errors name it (sourceName). */
  dir: string;
  /** Shard file names, in the order of first appearance. */
  files: string[];
  /** Tensor name → the shard file (a name inside `dir`) that holds it. */
  weightMap: Map<string, string>;
  /** Reads the files. */
  reader: CheckpointFiles;
}

/** A shard is a plain file name in the folder: nothing that would reach outside it (a path, or a URL's other folder). */
const isPlainFileName = (file: unknown): file is string => typeof file === 'string' && file !== '' && file !== '.' && file !== '..' && !/[/\\]/.test(file);

/** Which file holds which tensor: from the index file, or every tensor of the single file. */
export async function readCheckpointIndex(source: CheckpointSource): Promise<CheckpointIndex> {
  const dir = sourceName(source);
  const reader = new CheckpointFiles(source);
  if (await sourceHas(source, INDEX_FILE)) {
    const indexPath = sourceFile(source, INDEX_FILE);
    const index = await readSourceJson(source, INDEX_FILE);
    const map = index['weight_map'];
    if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new CheckpointError(indexPath, '"weight_map" must be an object of tensor name → shard file');
    const weightMap = new Map<string, string>();
    for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
      if (!isPlainFileName(file)) throw new CheckpointError(indexPath, `tensor '${name}': shard ${JSON.stringify(file)} is not a file name inside the folder`);
      weightMap.set(name, file);
    }
    const files = [...new Set(weightMap.values())];
    for (const f of files) {
      if (!(await sourceHas(source, f))) throw new CheckpointError(indexPath, `lists shard '${f}', which is not in ${dir}`);
    }
    return { dir, files, weightMap, reader };
  }
  if (await sourceHas(source, SINGLE_FILE)) {
    const header = await reader.header(SINGLE_FILE);
    return { dir, files: [SINGLE_FILE], weightMap: new Map([...header.tensors.keys()].map((n) => [n, SINGLE_FILE])), reader };
  }
  throw new CheckpointError(dir, `holds neither ${SINGLE_FILE} nor ${INDEX_FILE}`);
}

/**
 * Tensors of a checkpoint by name, across shards (each shard opened once, only the wanted
 * tensors read). Options as loadSafetensors; `names` defaults to every tensor of the index. If any
 * load fails, what was loaded is disposed and the error (naming the file and tensor) is thrown.
 */
export async function loadCheckpoint(source: CheckpointSource, opts: LoadSafetensorsOptions = {}): Promise<Map<string, Tensor>> {
  const index = await readCheckpointIndex(source);
  const { dir } = index;
  const wanted = opts.names ? [...opts.names] : [...index.weightMap.keys()];
  const byFile = new Map<string, string[]>();
  for (const name of wanted) {
    const file = index.weightMap.get(name);
    if (!file) {
      const known = [...index.weightMap.keys()].slice(0, 5).join(', ');
      throw new CheckpointError(dir, `has no tensor '${name}' (it has ${index.weightMap.size}, e.g. ${known})`);
    }
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  const loaded = new Map<string, Tensor>();
  try {
    for (const [file, names] of byFile) {
      for (const [name, t] of await index.reader.load(file, { ...opts, names })) loaded.set(name, t);
    }
  } catch (e) {
    for (const t of loaded.values()) t.dispose();
    throw e;
  }
  // In the order asked for.
  return new Map(wanted.map((n) => [n, loaded.get(n)!]));
}
