// Positioned reads and writes that finish the job: fs reads and writes may move fewer bytes than
// asked, and one call moves at most about 2 GiB.
import type { FileHandle } from 'node:fs/promises';
import { SafetensorsError } from './errors.js';

const CHUNK = 1 << 30;

/** Fills `into` from the file at `position`; a short file is an error naming `what`. */
export async function readExactly(fh: FileHandle, into: Uint8Array, position: number, path: string, what: string, tensor?: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const n = Math.min(CHUNK, into.length - done);
    const { bytesRead } = await fh.read(into, done, n, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsError(path, `the file ended after ${position + done} bytes while reading ${what} (${into.length} bytes at offset ${position}); was it truncated or changed while reading?`, tensor);
    }
    done += bytesRead;
  }
}

/** Writes all of `bytes` at `position`. */
export async function writeExactly(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const n = Math.min(CHUNK, bytes.length - done);
    const { bytesWritten } = await fh.write(bytes, done, n, position + done);
    done += bytesWritten;
  }
}
