// Files under a base URL, read with fetch. Large files are read in ranges (HTTP Range requests,
// in blocks of blockBytes, the two last used kept): a weights loader that wants a safetensors
// header and then the tensors in storage order makes a few block-sized requests and never holds
// the whole file. A server that ignores Range (answers 200 with the whole body) is read whole,
// once, as before.
import { type FileSource, FileSourceError, joinName } from './file-source.js';

export interface UrlSourceOptions {
  /** The size of a range request (default 16 MiB). */
  blockBytes?: number;
}

interface Block {
  file: string;
  begin: number;
  bytes: Uint8Array;
}

/** Files under a base URL, read with fetch (a 404 is "no such file"). */
export function urlSource(baseUrl: string, fetchFn: typeof fetch = fetch, options: UrlSourceOptions = {}): FileSource {
  const blockBytes = options.blockBytes ?? 16 << 20;
  const url = (file: string): string => joinName(baseUrl, file);
  const get = async (file: string, init?: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await fetchFn(url(file), init);
    } catch (e) {
      throw new FileSourceError(baseUrl, file, `fetch failed: ${(e as Error).message}`);
    }
    if (!res.ok) throw new FileSourceError(baseUrl, file, `HTTP ${res.status}${res.status === 404 ? ' (no such file)' : ''}`);
    return res;
  };

  // The newest block last; a whole file (from a server without ranges) is a block at 0.
  const blocks: Block[] = [];
  const sizes = new Map<string, number>();
  const keep = (block: Block): Block => {
    blocks.push(block);
    if (blocks.length > 2) blocks.shift();
    return block;
  };
  /** Bytes [begin, end) (clamped to the file), by a Range request; a whole body if the server sends one. */
  const fetchRange = async (file: string, begin: number, end: number): Promise<Block> => {
    const res = await get(file, { headers: { Range: `bytes=${begin}-${end - 1}` } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (res.status !== 206) {
      sizes.set(file, bytes.length);
      return keep({ file, begin: 0, bytes });
    }
    const total = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
    if (total) sizes.set(file, Number(total[1]));
    return keep({ file, begin, bytes });
  };
  const cached = (file: string, begin: number, end: number): Uint8Array | undefined => {
    const i = blocks.findIndex((x) => x.file === file && x.begin <= begin && end <= x.begin + x.bytes.length);
    if (i < 0) return undefined;
    // Least recently used goes first: a header's block stays while the tensors move on.
    const [b] = blocks.splice(i, 1);
    blocks.push(b);
    return b.bytes.subarray(begin - b.begin, end - b.begin);
  };
  const size = async (file: string): Promise<number> => {
    if (!sizes.has(file)) await fetchRange(file, 0, blockBytes);
    if (!sizes.has(file)) {
      // A range without its file's size (a cross-origin Content-Range not exposed): the whole file.
      const bytes = new Uint8Array(await (await get(file)).arrayBuffer());
      sizes.set(file, bytes.length);
      keep({ file, begin: 0, bytes });
    }
    return sizes.get(file)!;
  };

  return {
    name: baseUrl,
    has: async (file) => {
      try {
        const res = await fetchFn(url(file), { method: 'HEAD' });
        return res.ok;
      } catch {
        return false;
      }
    },
    readBytes: async (file) => new Uint8Array(await (await get(file)).arrayBuffer()),
    readText: async (file) => (await get(file)).text(),
    size,
    readRange: async (file, begin, end) => {
      const hit = cached(file, begin, end);
      if (hit) return hit;
      // A block from here on (reads go forward through a file), or exactly the range when it is larger.
      const limit = Math.min(await size(file), Math.max(end, begin + blockBytes));
      const block = await fetchRange(file, begin, limit);
      // (Short when the file is: the reader says so, naming it.)
      return cached(file, begin, end) ?? block.bytes.subarray(begin - block.begin, end - block.begin);
    },
  };
}
