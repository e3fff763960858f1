// One error type for every safetensors problem, so callers can tell a bad file from a bug and see
// which file (and tensor) it was.

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    /** The file being read or written. */
    readonly path: string,
    message: string,
    /** The tensor the problem is in, when it is about one tensor. */
    readonly tensor?: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${tensor !== undefined ? `tensor '${tensor}': ` : ''}${message}`, options);
  }
}

/** Little-endian is the file's byte order; typed arrays use the host's, so the two must agree. */
export function assertLittleEndianHost(path: string): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new SafetensorsError(path, 'this host is big-endian; relpo reads and writes safetensors only on little-endian hosts');
  }
}
