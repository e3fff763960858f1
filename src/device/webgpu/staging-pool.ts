// Read-back (MAP_READ | COPY_DST) buffers kept for reuse. Generation reads a few bytes back every
// step (each row's next token); creating, mapping and destroying a buffer for each read was about a
// fifth of that round trip on lavapipe (a launch and an 8-int read: 394-500 µs, 336-417 with reuse),
// and the webgpu package tracks every buffer it creates with a WeakRef for the GC. Buffers come in
// the device pool's size classes; a released buffer is unmapped, so the next read may copy into it.
import { sizeClass } from './buffer-pool.js';

const MAP_READ_COPY_DST = 0x01 | 0x08;

export class StagingPool {
  private free = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private closed = false;

  /** maxBytes: what the pool may hold unused (larger reads still work; their buffers are not kept). */
  constructor(private readonly device: GPUDevice, private readonly maxBytes = 64 << 20) {}

  /** A buffer of at least `bytes` to copy into and map. */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const buf = this.free.get(size)?.pop();
    if (!buf) return this.device.createBuffer({ size, usage: MAP_READ_COPY_DST });
    this.pooledBytes -= size;
    return buf;
  }

  /** Takes back an unmapped buffer, or destroys it when the pool is full or closed. */
  release(buf: GPUBuffer): void {
    if (this.closed || this.pooledBytes + buf.size > this.maxBytes) {
      buf.destroy();
      return;
    }
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    list.push(buf);
    this.pooledBytes += buf.size;
  }

  /** Destroys the kept buffers; later releases destroy theirs (the device is going away). */
  close(): void {
    this.closed = true;
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
