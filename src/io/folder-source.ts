// A Node folder as a FileSource (the only FileSource that needs the file system).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type FileSource, FileSourceError } from './file-source.js';

export function folderSource(dir: string): FileSource {
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await readFile(join(dir, file));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new FileSourceError(dir, file, code === 'ENOENT' ? 'no such file' : (e as Error).message);
    }
  };
  return {
    name: dir,
    has: async (file) => stat(join(dir, file)).then((s) => s.isFile(), () => false),
    readBytes: async (file) => new Uint8Array(await read(file)),
    readText: async (file) => (await read(file)).toString('utf8'),
  };
}
