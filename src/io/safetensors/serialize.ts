// The safetensors byte layout relpo writes, shared by the Node file writer (save.ts) and
// safetensorsBytes (a whole file in memory, for a browser's download or storage), so the two
// cannot drift apart: entries sorted by name, the header padded with spaces to a multiple of 8
// bytes, and metadata as "__metadata__".
import type { Tensor } from '../../autograd/tensor.js';
import type { DType } from '../../autograd/dtype.js';
import type { SafetensorsDType } from './dtypes.js';
import { SafetensorsError, assertLittleEndianHost } from './errors.js';

/** How each relpo dtype is stored: as itself, so that saving loses nothing. */
const FILE_DTYPE: Record<DType, { dtype: SafetensorsDType; bytes: number }> = {
  float32: { dtype: 'F32', bytes: 4 },
  int32: { dtype: 'I32', bytes: 4 },
  float64: { dtype: 'F64', bytes: 8 },
  bfloat16: { dtype: 'BF16', bytes: 2 },
};

export interface PlannedTensor {
  name: string;
  tensor: Tensor;
  /** [begin, end) in the data buffer that follows the header. */
  begin: number;
  end: number;
}

export interface SafetensorsLayout {
  /** The 8-byte length and the padded header JSON: the file's first bytes. */
  header: Uint8Array;
  plan: PlannedTensor[];
  /** The whole file's size. */
  size: number;
}

/** Checks every input before anything is read or written, and lays out the file. `path` is what errors name. */
export function planSafetensors(path: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata: Record<string, string> | undefined): SafetensorsLayout {
  assertLittleEndianHost(path);
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const plan: PlannedTensor[] = [];
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
  return { header, plan, size: header.length + offset };
}

/** One planned tensor's stored bytes (bfloat16: its bit patterns themselves, not data()'s widened values). */
export async function tensorBytes(path: string, { name, tensor, begin, end }: PlannedTensor): Promise<Uint8Array> {
  let values;
  try {
    values = tensor.dtype === 'bfloat16' ? (await tensor.device.read(tensor.storage)).subarray(0, tensor.size) : await tensor.data();
  } catch (e) {
    throw new SafetensorsError(path, `could not read its values: ${(e as Error).message}`, name, { cause: e });
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (bytes.length !== end - begin) throw new SafetensorsError(path, `read ${bytes.length} bytes of values, expected ${end - begin}`, name);
  return bytes;
}

/**
 * `tensors` as the bytes of a safetensors file (the bytes saveSafetensors writes), for a download,
 * browser storage or loadSafetensorsBytes. `name` is what errors name.
 */
export async function safetensorsBytes(tensors: Record<string, Tensor> | Map<string, Tensor>, metadata?: Record<string, string>, name = 'safetensorsBytes'): Promise<Uint8Array> {
  const { header, plan, size } = planSafetensors(name, tensors, metadata);
  const out = new Uint8Array(size);
  out.set(header, 0);
  for (const p of plan) out.set(await tensorBytes(name, p), header.length + p.begin);
  return out;
}
