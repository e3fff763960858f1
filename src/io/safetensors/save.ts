// Saving tensors as a safetensors file, atomically: everything goes to a temporary file in the same
// folder, which is flushed to disk (fsync) and then renamed over the target. A save that fails at
// any point leaves whatever was at `path` before untouched and removes its temporary file.
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Tensor } from '../../autograd/tensor.js';
import type { DType } from '../../autograd/dtype.js';
import type { SafetensorsDType } from './dtypes.js';
import { SafetensorsError, assertLittleEndianHost } from './errors.js';
import { writeExactly } from './file-io.js';

/** How each relpo dtype is stored: as itself, so that saving loses nothing. */
const FILE_DTYPE: Record<DType, { dtype: SafetensorsDType; bytes: number }> = {
  float32: { dtype: 'F32', bytes: 4 },
  int32: { dtype: 'I32', bytes: 4 },
  float64: { dtype: 'F64', bytes: 8 },
  bfloat16: { dtype: 'BF16', bytes: 2 },
};

interface Planned {
  name: string;
  tensor: Tensor;
  begin: number;
  end: number;
}

/**
 * Writes `tensors` (float32 as F32, int32 as I32, float64 as F64, bfloat16 as BF16) to `path`, entries sorted by
 * name, the header padded with spaces to a multiple of 8 bytes, and `metadata` as "__metadata__".
 */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  assertLittleEndianHost(path);
  const { header, plan } = planFile(path, tensors, metadata);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh: FileHandle | null = null;
  try {
    fh = await open(tmp, 'wx');
    await writeExactly(fh, header, 0);
    for (const { name, tensor, begin, end } of plan) {
      let values;
      try {
        // bfloat16: the stored bit patterns themselves, not data()'s widened values.
        values = tensor.dtype === 'bfloat16' ? (await tensor.device.read(tensor.storage)).subarray(0, tensor.size) : await tensor.data();
      } catch (e) {
        throw new SafetensorsError(path, `could not read its values: ${(e as Error).message}`, name, { cause: e });
      }
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      if (bytes.length !== end - begin) throw new SafetensorsError(path, `read ${bytes.length} bytes of values, expected ${end - begin}`, name);
      await writeExactly(fh, bytes, header.length + begin);
    }
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

/** Checks every input before the disk is touched, and lays out the file: the header bytes and each tensor's offsets. */
function planFile(path: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata: Record<string, string> | undefined): { header: Uint8Array; plan: Planned[] } {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const plan: Planned[] = [];
  const json: string[] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new SafetensorsError(path, 'metadata must be an object of strings');
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(path, `metadata values must be strings; "${k}" is ${JSON.stringify(v)}`);
    }
    json.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const [name, tensor] of entries) {
    if (name === '__metadata__') throw new SafetensorsError(path, `"__metadata__" is reserved for metadata and cannot name a tensor`);
    if (!tensor || (tensor as { isTensor?: unknown }).isTensor !== true) throw new SafetensorsError(path, 'is not a Tensor', name);
    if (tensor.isDisposed) throw new SafetensorsError(path, 'was disposed before it could be saved', name);
    const kind = FILE_DTYPE[tensor.dtype];
    if (!kind) throw new SafetensorsError(path, `dtype ${tensor.dtype} cannot be saved (relpo saves float32, int32, float64 and bfloat16)`, name);
    const end = offset + tensor.size * kind.bytes;
    plan.push({ name, tensor, begin: offset, end });
    json.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: kind.dtype, shape: tensor.shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  // Built by hand, not JSON.stringify(object), which would move integer-like names to the front.
  const text = new TextEncoder().encode(`{${json.join(',')}}`);
  const padded = Math.ceil(text.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + text.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, plan };
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
