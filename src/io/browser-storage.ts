// A browser's own storage for files relpo makes in memory (adapterFiles' adapter, a checkpoint):
// the origin-private file system (OPFS, navigator.storage.getDirectory()), IndexedDB, and a
// download of bytes through a Blob URL. Browser-only: in Node each says so. Saved files read back
// as FileSources (opfsSource, indexedDbSource), which the loaders take.
import { type FileSource, FileSourceError, memorySource } from './file-source.js';

// The few DOM types used here, by shape (relpo compiles without the DOM library).
interface WritableFile {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}
interface FileHandle {
  getFile(): Promise<{ arrayBuffer(): Promise<ArrayBuffer>; text(): Promise<string> }>;
  createWritable(): Promise<WritableFile>;
}
interface DirectoryHandle {
  getDirectoryHandle(name: string, opts?: { create?: boolean }): Promise<DirectoryHandle>;
  getFileHandle(name: string, opts?: { create?: boolean }): Promise<FileHandle>;
  removeEntry(name: string, opts?: { recursive?: boolean }): Promise<void>;
}
interface Request<T> {
  result: T;
  error: Error | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface Database {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): void;
  transaction(store: string, mode: 'readonly' | 'readwrite'): {
    objectStore(name: string): { put(value: unknown, key: string): Request<unknown>; get(key: string): Request<unknown>; delete(key: string): Request<unknown> };
    oncomplete: (() => void) | null;
    onerror: (() => void) | null;
    onabort: (() => void) | null;
    error: Error | null;
  };
  close(): void;
}
interface Browser {
  navigator?: { storage?: { getDirectory?(): Promise<DirectoryHandle> } };
  indexedDB?: { open(name: string, version?: number): Request<Database> & { onupgradeneeded: (() => void) | null } };
  document?: {
    createElement(tag: 'a'): { href: string; download: string; click(): void; remove(): void };
    body: { append(node: unknown): void };
  };
  URL: { createObjectURL(blob: Blob): string; revokeObjectURL(url: string): void };
}
const web = globalThis as unknown as Browser;

function browserApi<T>(api: T | undefined, what: string, where: string): T {
  if (api === undefined) throw new Error(`${where}: ${what} is a browser API, and this runtime has none (in Node, save with saveLoraAdapter and read folders by path)`);
  return api;
}

/** The OPFS folder `folder` ('adapters/run-1': nested names split at '/'), created if asked. */
async function opfsFolder(folder: string, create: boolean): Promise<DirectoryHandle> {
  const storage = browserApi(web.navigator?.storage?.getDirectory ? web.navigator.storage : undefined, 'navigator.storage.getDirectory (the origin-private file system)', `opfs:${folder}`);
  let dir = await storage.getDirectory!();
  for (const part of folder.split('/').filter((p) => p !== '')) {
    try {
      dir = await dir.getDirectoryHandle(part, { create });
    } catch (e) {
      throw new Error(`opfs:${folder}: ${(e as Error).name === 'NotFoundError' ? 'no such folder in the origin-private file system' : (e as Error).message}`, { cause: e });
    }
  }
  return dir;
}

/**
 * Writes `files` (adapterFiles' map: name → bytes) into the OPFS folder, creating it; each file is
 * replaced whole (a writable stream commits on close, so a failed write leaves the old file).
 */
export async function saveFilesToOpfs(folder: string, files: Map<string, Uint8Array>): Promise<void> {
  const dir = await opfsFolder(folder, true);
  for (const [name, bytes] of files) {
    let out: WritableFile | undefined;
    try {
      out = await (await dir.getFileHandle(name, { create: true })).createWritable();
      await out.write(bytes);
      await out.close(); // the commit: a quota error shows here
    } catch (e) {
      await out?.abort().catch(() => {});
      throw new FileSourceError(`opfs:${folder}`, name, `could not be written: ${(e as Error).message}`);
    }
  }
}

/** The files of an OPFS folder as a FileSource (named "opfs:<folder>"); an error if the folder is not there. */
export async function opfsSource(folder: string): Promise<FileSource> {
  const dir = await opfsFolder(folder, false);
  const name = `opfs:${folder}`;
  const file = async (f: string) => {
    try {
      return await (await dir.getFileHandle(f)).getFile();
    } catch (e) {
      throw new FileSourceError(name, f, (e as Error).name === 'NotFoundError' ? 'no such file' : (e as Error).message);
    }
  };
  return {
    name,
    has: async (f) => file(f).then(() => true, () => false),
    readBytes: async (f) => new Uint8Array(await (await file(f)).arrayBuffer()),
    readText: async (f) => (await file(f)).text(),
  };
}

/** Removes an OPFS folder and its files; false when it was not there. */
export async function removeOpfsFolder(folder: string): Promise<boolean> {
  const parts = folder.split('/').filter((p) => p !== '');
  const last = parts.pop();
  if (last === undefined) throw new Error(`opfs:${folder}: name a folder to remove, not the root`);
  const parent = await opfsFolder(parts.join('/'), false).catch(() => undefined);
  if (!parent) return false;
  return parent.removeEntry(last, { recursive: true }).then(() => true, () => false);
}

const STORE = 'files';

function settle<T>(req: Request<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

async function openDatabase(database: string, where: string): Promise<Database> {
  const idb = browserApi(web.indexedDB, 'IndexedDB', where);
  const req = idb.open(database);
  req.onupgradeneeded = () => {
    if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
  };
  return settle(req);
}

/** One request in its own transaction, resolved when the transaction has committed. */
async function inTransaction<T>(database: string, key: string, mode: 'readonly' | 'readwrite', op: (store: ReturnType<ReturnType<Database['transaction']>['objectStore']>) => Request<T>): Promise<T> {
  const where = `indexeddb:${database}/${key}`;
  const db = await openDatabase(database, where);
  try {
    const tx = db.transaction(STORE, mode);
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(new Error(`${where}: the IndexedDB transaction failed: ${tx.error?.message ?? 'aborted'}`));
    });
    const result = await settle(op(tx.objectStore(STORE)));
    await done;
    return result;
  } finally {
    db.close();
  }
}

/**
 * Stores `files` (adapterFiles' map) under `key` in IndexedDB (database `database`, store "files"),
 * in one transaction: the record is replaced whole or not at all.
 */
export async function saveFilesToIndexedDb(key: string, files: Map<string, Uint8Array>, database = 'relpo'): Promise<void> {
  await inTransaction(database, key, 'readwrite', (store) => store.put(new Map(files), key));
}

/** The files stored under `key` as a FileSource (named "indexeddb:<database>/<key>"); an error if there are none. */
export async function indexedDbSource(key: string, database = 'relpo'): Promise<FileSource> {
  const name = `indexeddb:${database}/${key}`;
  const files = await inTransaction(database, key, 'readonly', (store) => store.get(key));
  if (!(files instanceof Map)) throw new Error(`${name}: nothing is stored under this key`);
  return memorySource(files as Map<string, Uint8Array>, name);
}

/** Removes what is stored under `key`. */
export async function removeFromIndexedDb(key: string, database = 'relpo'): Promise<void> {
  await inTransaction(database, key, 'readwrite', (store) => store.delete(key));
}

/**
 * Offers `bytes` as a download named `fileName` (a Blob URL clicked through a link): the adapter's
 * adapter_model.safetensors, say. Returns the URL, which is revoked a minute later.
 */
export function downloadBytes(bytes: Uint8Array, fileName: string, type = 'application/octet-stream'): string {
  const document = browserApi(web.document, 'a download (document)', fileName);
  const url = web.URL.createObjectURL(new Blob([bytes], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => web.URL.revokeObjectURL(url), 60_000);
  return url;
}
