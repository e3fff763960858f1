// Writing a Hugging Face checkpoint folder: config.json and the weights, in one model.safetensors or,
// past maxShardBytes, in shards model-0000k-of-0000n.safetensors listed by
// model.safetensors.index.json, as transformers' save_pretrained writes them. Each file is written
// atomically (saveSafetensors), and the index and config last, so a folder never points at a shard
// that is not fully written.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../autograd/tensor.js';
import { bytesPerElement } from '../autograd/dtype.js';
import { saveSafetensors } from './safetensors/save.js';
import { INDEX_FILE, SINGLE_FILE } from './checkpoint.js';

export interface SaveCheckpointOptions {
  /** Largest shard in bytes (transformers' default max_shard_size is 5 GB). A tensor larger than this gets a shard of its own. */
  maxShardBytes?: number;
  /** safetensors metadata; { format: 'pt' } by default, which transformers expects. */
  metadata?: Record<string, string>;
}

const DEFAULT_MAX_SHARD = 5e9;

async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, path);
}

/** Writes `tensors` (and `config`, when given, as config.json) into `dir`, creating it. */
export async function saveCheckpoint(dir: string, tensors: Map<string, Tensor>, config?: object, opts: SaveCheckpointOptions = {}): Promise<void> {
  const maxShard = opts.maxShardBytes ?? DEFAULT_MAX_SHARD;
  if (!(maxShard > 0)) throw new Error(`saveCheckpoint: maxShardBytes must be positive, not ${maxShard}`);
  const metadata = opts.metadata ?? { format: 'pt' };
  await mkdir(dir, { recursive: true });
  // Greedy in name order, as transformers fills shards in state-dict order.
  const names = [...tensors.keys()].sort();
  const shards: string[][] = [];
  let size = Infinity; // so the first tensor opens the first shard
  let total = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.size * bytesPerElement(t.dtype);
    total += bytes;
    if (size + bytes > maxShard) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(name);
    size += bytes;
  }
  if (shards.length <= 1) {
    await saveSafetensors(join(dir, SINGLE_FILE), tensors, metadata);
  } else {
    const n = shards.length;
    const file = (k: number) => `model-${String(k + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    const weightMap: Record<string, string> = {};
    for (const [k, shard] of shards.entries()) {
      await saveSafetensors(join(dir, file(k)), new Map(shard.map((name) => [name, tensors.get(name)!])), metadata);
      for (const name of shard) weightMap[name] = file(k);
    }
    await writeJsonAtomically(join(dir, INDEX_FILE), { metadata: { total_size: total }, weight_map: weightMap });
  }
  if (config) await writeJsonAtomically(join(dir, 'config.json'), config);
}
