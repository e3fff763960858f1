// Loading tensors from a safetensors file, or from its bytes held in memory (a browser has no file
// system). From a file only the requested tensors' bytes are read (positioned reads at their
// offsets), so taking a few tensors from a multi-GB shard is cheap. Values are
// converted on the host: 16-bit floats exactly to float32, I64 to int32 where every value fits.
import { Tensor } from '../../autograd/tensor.js';
import { type Device, getDefaultDevice } from '../../autograd/device.js';
import type { TypedArray } from '../../autograd/dtype.js';
import { LOADABLE_DTYPES } from './dtypes.js';
import { SafetensorsError, assertLittleEndianHost } from './errors.js';
import { bf16ToF32, f16ToF32 } from './half.js';
import { type SafetensorsHeader, type SafetensorsReader, type SafetensorsTensorInfo, bytesReader, openSafetensors, readHeaderFrom } from './header.js';

export interface LoadSafetensorsOptions {
  /** Where the tensors go; defaults to the device chosen by init(). */
  device?: Device;
  /** Load only these tensors (an error names any that the file lacks). Default: all of them. */
  names?: Iterable<string>;
  /** The dtype of floating-point tensors: float32 (default) or float64 (CPU device only). Integer tensors are always int32. */
  dtype?: 'float32' | 'float64';
}

/** Tensors by name, in the order asked for (or, loading all, the order their bytes are stored in). */
export async function loadSafetensors(path: string, opts: LoadSafetensorsOptions = {}): Promise<Map<string, Tensor>> {
  const { floatDtype, device } = checkOptions(path, opts);
  const { fh, header, reader } = await openSafetensors(path);
  try {
    return await loadTensors(header, opts.names, floatDtype, device, reader);
  } finally {
    await fh.close();
  }
}

/**
 * loadSafetensors for a whole file held in memory (fetched, a page's File, what safetensorsBytes
 * made); `path` is what errors name (a URL, a file name).
 */
export function loadSafetensorsBytes(bytes: Uint8Array, path: string, opts: LoadSafetensorsOptions = {}): Promise<Map<string, Tensor>> {
  return loadSafetensorsFrom(bytesReader(path, bytes), opts);
}

/** loadSafetensors through any reader (a FileSource's ranges: only the header and the wanted tensors are read). */
export async function loadSafetensorsFrom(reader: SafetensorsReader, opts: LoadSafetensorsOptions = {}): Promise<Map<string, Tensor>> {
  const { floatDtype, device } = checkOptions(reader.path, opts);
  return loadTensors(await readHeaderFrom(reader), opts.names, floatDtype, device, reader);
}

function checkOptions(path: string, opts: LoadSafetensorsOptions): { floatDtype: 'float32' | 'float64'; device: Device } {
  assertLittleEndianHost(path);
  const floatDtype = opts.dtype ?? 'float32';
  if (floatDtype !== 'float32' && floatDtype !== 'float64') {
    throw new SafetensorsError(path, `loadSafetensors: dtype must be float32 or float64, not ${JSON.stringify(floatDtype)}`);
  }
  const device = opts.device ?? getDefaultDevice();
  if (!device.supportsDtype(floatDtype)) throw new SafetensorsError(path, `the ${device.kind} device has no ${floatDtype}; load as float32`);
  return { floatDtype, device };
}

async function loadTensors(header: SafetensorsHeader, names: Iterable<string> | undefined, floatDtype: 'float32' | 'float64', device: Device, reader: SafetensorsReader): Promise<Map<string, Tensor>> {
  const { path } = header;
  const out = new Map<string, Tensor>();
  try {
    const wanted = selectNames(header, names);
    // Refuse unloadable dtypes before reading anything.
    for (const name of wanted) {
      const { dtype } = header.tensors.get(name)!;
      if (!LOADABLE_DTYPES.includes(dtype)) {
        throw new SafetensorsError(path, `dtype ${dtype} cannot be loaded (relpo loads ${LOADABLE_DTYPES.join(', ')})`, name);
      }
    }
    for (const name of wanted) {
      const info = header.tensors.get(name)!;
      const [begin, end] = info.dataOffsets;
      const bytes = new Uint8Array(new ArrayBuffer(end - begin));
      // (A copy of its own: the typed arrays need their element alignment, which an offset into the file may lack.)
      await reader.readAt(bytes, header.dataStart + begin, `the data of tensor '${name}'`, name);
      const values = decode(path, name, info, bytes.buffer, floatDtype);
      const dtype = values instanceof Int32Array ? 'int32' : floatDtype;
      const t = new Tensor(device.upload(dtype, values), info.shape, dtype);
      t.name = name;
      out.set(name, t);
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}

function selectNames(header: SafetensorsHeader, names: Iterable<string> | undefined): string[] {
  if (names === undefined) return [...header.tensors.keys()];
  const wanted = [...new Set(names)];
  const missing = wanted.filter((n) => !header.tensors.has(n));
  if (missing.length > 0) {
    const have = [...header.tensors.keys()];
    const some = have.slice(0, 5).map((n) => `'${n}'`).join(', ') + (have.length > 5 ? `, … (${have.length} in all)` : '');
    throw new SafetensorsError(
      header.path,
      `no tensor named ${missing.map((n) => `'${n}'`).join(', ')} in this file; it has ${have.length === 0 ? 'no tensors' : some}`,
    );
  }
  return wanted;
}

/** The file's little-endian bytes as the values relpo stores. */
function decode(path: string, name: string, info: SafetensorsTensorInfo, buf: ArrayBuffer, floatDtype: 'float32' | 'float64'): TypedArray {
  const asFloat = (v: Float32Array | Float64Array): TypedArray =>
    floatDtype === 'float64' ? (v instanceof Float64Array ? v : Float64Array.from(v)) : v instanceof Float32Array ? v : Float32Array.from(v);
  switch (info.dtype) {
    case 'F32': return asFloat(new Float32Array(buf));
    case 'F64': return asFloat(new Float64Array(buf));
    case 'F16': return asFloat(f16ToF32(new Uint16Array(buf)));
    case 'BF16': return asFloat(bf16ToF32(new Uint16Array(buf)));
    case 'I32': return new Int32Array(buf);
    case 'I64': return i64ToI32(path, name, info, buf);
    default: throw new SafetensorsError(path, `dtype ${info.dtype} cannot be loaded`, name);
  }
}

/** int64 → int32, refusing any value outside int32's range rather than wrapping it. */
function i64ToI32(path: string, name: string, info: SafetensorsTensorInfo, buf: ArrayBuffer): Int32Array {
  const words = new Int32Array(buf);
  const out = new Int32Array(words.length / 2);
  for (let i = 0; i < out.length; i++) {
    const lo = words[2 * i];
    // The value fits in int32 exactly when the high word is the low word's sign extension.
    if (words[2 * i + 1] !== lo >> 31) {
      const value = new BigInt64Array(buf, 8 * i, 1)[0];
      throw new SafetensorsError(
        path,
        `I64 value ${value} at flat index ${i} (shape [${info.shape}]) does not fit in int32, which is what relpo stores integers as`,
        name,
      );
    }
    out[i] = lo;
  }
  return out;
}
