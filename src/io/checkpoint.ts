// Hugging Face checkpoint folders: config.json beside the weights, which are one model.safetensors or
// shards listed by model.safetensors.index.json ({ "metadata": {…}, "weight_map": { name: file } }).
import { access, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Tensor } from '../autograd/tensor.js';
import { readSafetensorsHeader } from './safetensors/header.js';
import { loadSafetensors, type LoadSafetensorsOptions } from './safetensors/load.js';

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(readonly path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
  }
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** A JSON object from a file, with errors that name the file. */
export async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CheckpointError(path, `cannot be read (${(e as Error).message})`, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(path, `is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new CheckpointError(path, 'must hold a JSON object');
  return value as Record<string, unknown>;
}

/** The folder's config.json (model hyper-parameters, as transformers writes them). */
export function readCheckpointConfig(dir: string): Promise<Record<string, unknown>> {
  return readJsonObject(join(dir, 'config.json'));
}

export interface CheckpointIndex {
  dir: string;
  /** Shard file names, in the order of first appearance. */
  files: string[];
  /** Tensor name → the shard file (a name inside `dir`) that holds it. */
  weightMap: Map<string, string>;
}

/** Which file holds which tensor: from the index file, or every tensor of the single file. */
export async function readCheckpointIndex(dir: string): Promise<CheckpointIndex> {
  const indexPath = join(dir, INDEX_FILE);
  if (await exists(indexPath)) {
    const index = await readJsonObject(indexPath);
    const map = index['weight_map'];
    if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new CheckpointError(indexPath, '"weight_map" must be an object of tensor name → shard file');
    const weightMap = new Map<string, string>();
    for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
      // A shard is a plain file name in the folder: nothing that would reach outside it.
      if (typeof file !== 'string' || file !== basename(file) || file === '..' || file === '.' || file === '') {
        throw new CheckpointError(indexPath, `tensor '${name}': shard ${JSON.stringify(file)} is not a file name inside the folder`);
      }
      weightMap.set(name, file);
    }
    const files = [...new Set(weightMap.values())];
    for (const f of files) {
      if (!(await exists(join(dir, f)))) throw new CheckpointError(indexPath, `lists shard '${f}', which is not in ${dir}`);
    }
    return { dir, files, weightMap };
  }
  const single = join(dir, SINGLE_FILE);
  if (await exists(single)) {
    const header = await readSafetensorsHeader(single);
    return { dir, files: [SINGLE_FILE], weightMap: new Map([...header.tensors.keys()].map((n) => [n, SINGLE_FILE])) };
  }
  throw new CheckpointError(dir, `holds neither ${SINGLE_FILE} nor ${INDEX_FILE}`);
}

/**
 * Tensors of a checkpoint folder by name, across shards (each shard opened once, only the wanted
 * tensors read). Options as loadSafetensors; `names` defaults to every tensor of the index. If any
 * load fails, what was loaded is disposed and the error (naming the file and tensor) is thrown.
 */
export async function loadCheckpoint(dir: string, opts: LoadSafetensorsOptions = {}): Promise<Map<string, Tensor>> {
  const index = await readCheckpointIndex(dir);
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
      for (const [name, t] of await loadSafetensors(join(dir, file), { ...opts, names })) loaded.set(name, t);
    }
  } catch (e) {
    for (const t of loaded.values()) t.dispose();
    throw e;
  }
  // In the order asked for.
  return new Map(wanted.map((n) => [n, loaded.get(n)!]));
}
