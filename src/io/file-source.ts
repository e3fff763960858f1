// Where a model's or tokenizer's files come from, so that one loader serves a Node folder, a URL
// (fetch: a web server, a hub mirror) and files a browser page holds (File, Blob, ArrayBuffer).
// The URL source lives in url-source.ts; Node's folder source in folder-source.ts, the one of these
// that needs node:fs.

/** A flat set of named files (a model folder): 'config.json', 'model.safetensors', … */
export interface FileSource {
  /** What errors name: a folder path, a base URL, or a label for in-memory files. */
  readonly name: string;
  has(file: string): Promise<boolean>;
  readBytes(file: string): Promise<Uint8Array>;
  readText(file: string): Promise<string>;
  /**
   * Optional, for large files: a file's size and its bytes [begin, end) without reading the rest
   * (a page's File is sliced). Weights loaders use them when both are there, reading only a
   * safetensors header and the tensors wanted.
   */
  size?(file: string): Promise<number>;
  readRange?(file: string, begin: number, end: number): Promise<Uint8Array>;
}

export class FileSourceError extends Error {
  constructor(source: string, file: string, message: string) {
    super(`${joinName(source, file)}: ${message}`);
    this.name = 'FileSourceError';
  }
}

/** source + file as a person reads it (a path or a URL). */
export function joinName(source: string, file: string): string {
  return source.endsWith('/') ? source + file : `${source}/${file}`;
}

export type MemoryFile = Uint8Array | ArrayBuffer | string | Blob;

/** Files held in memory (a page's File objects, fetched bytes, test fixtures), by name. */
export function memorySource(files: Map<string, MemoryFile> | Record<string, MemoryFile>, name = 'memory'): FileSource {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  const get = (file: string): MemoryFile => {
    const f = map.get(file);
    if (f === undefined) throw new FileSourceError(name, file, `no such file (have: ${[...map.keys()].join(', ') || 'none'})`);
    return f;
  };
  const bytes = async (f: MemoryFile): Promise<Uint8Array> => {
    if (typeof f === 'string') return new TextEncoder().encode(f);
    if (f instanceof Uint8Array) return f;
    if (f instanceof ArrayBuffer) return new Uint8Array(f);
    return new Uint8Array(await f.arrayBuffer());
  };
  return {
    name,
    has: async (file) => map.has(file),
    readBytes: async (file) => bytes(get(file)),
    readText: async (file) => {
      const f = get(file);
      return typeof f === 'string' ? f : new TextDecoder().decode(await bytes(f));
    },
    // A Blob (a page's File) is sliced, never read whole; the rest are in memory already.
    size: async (file) => {
      const f = get(file);
      return f instanceof Blob ? f.size : (await bytes(f)).byteLength;
    },
    readRange: async (file, begin, end) => {
      const f = get(file);
      return f instanceof Blob ? new Uint8Array(await f.slice(begin, end).arrayBuffer()) : (await bytes(f)).subarray(begin, end);
    },
  };
}

export function isFileSource(x: unknown): x is FileSource {
  return typeof x === 'object' && x !== null && typeof (x as FileSource).readBytes === 'function' && typeof (x as FileSource).has === 'function';
}
