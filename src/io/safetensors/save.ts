// Saving tensors as a safetensors file, atomically: everything goes to a temporary file in the same
// folder, which is flushed to disk (fsync) and then renamed over the target. A save that fails at
// any point leaves whatever was at `path` before untouched and removes its temporary file.
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Tensor } from '../../autograd/tensor.js';
import { SafetensorsError } from './errors.js';
import { writeExactly } from './file-io.js';
import { planSafetensors, tensorBytes } from './serialize.js';

/**
 * Writes `tensors` (float32 as F32, int32 as I32, float64 as F64, bfloat16 as BF16) to `path` in
 * serialize.ts's layout (safetensorsBytes' bytes), one tensor at a time.
 */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  const { header, plan } = planSafetensors(path, tensors, metadata);
  await writeAtomically(path, async (fh) => {
    await writeExactly(fh, header, 0);
    for (const p of plan) await writeExactly(fh, await tensorBytes(path, p), header.length + p.begin);
  });
}

async function writeAtomically(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh: FileHandle | null = null;
  try {
    fh = await open(tmp, 'wx');
    await write(fh);
    await fh.sync();
    await fh.close();
    fh = null;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e instanceof SafetensorsError ? e : new SafetensorsError(path, `saving failed: ${(e as Error).message}`, undefined, { cause: e });
  }
  await syncFolder(dirname(path));
}

/** Makes the rename itself durable. Folders cannot be opened for fsync on Windows; there rename is all we can do. */
async function syncFolder(folder: string): Promise<void> {
  if (process.platform === 'win32') return;
  const dir = await open(folder, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
