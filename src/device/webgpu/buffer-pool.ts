// GPU buffers by size class. Creating a buffer is slow (driver allocation) and freeing it waits on
// the GC, so freed buffers are kept for reuse. A buffer freed while the unsubmitted command encoder
// may still read it goes to `pending` first: an upload (queue.writeBuffer) must not take it before
// that encoder is submitted, since the write would land before the commands that read it. A kernel's
// output may take it at once: its writes are commands of the same encoder, after those reads (WebGPU
// orders a pass's dispatches). Reusing the most recently freed buffer first keeps the set of buffers
// a repeated computation cycles through small (a decoding step's launches then find their bind groups
// cached: bindings.ts) and lowers the pool's footprint between submits.
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  liveBuffers = 0;
  liveBytes = 0;
  /** The most liveBytes has been since the last resetPeak() (or since the pool was made). */
  peakLiveBytes = 0;
  pooledBuffers = 0;
  pooledBytes = 0;
  /** Called after trim() destroys buffers (the device drops bind groups that may name them). */
  onDestroy: () => void = () => {};

  constructor(private readonly device: GPUDevice, private readonly usage: GPUBufferUsageFlags) {}

  /** A buffer of at least `bytes`; `forUpload`: one that queue.writeBuffer may fill now (not pending). */
  acquire(bytes: number, forUpload = false): GPUBuffer {
    const size = sizeClass(bytes);
    let buf = forUpload ? undefined : this.takePending(size);
    buf ??= this.free.get(size)?.pop();
    if (buf) {
      this.pooledBuffers--;
      this.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: this.usage });
    }
    this.liveBuffers++;
    this.liveBytes += size;
    if (this.liveBytes > this.peakLiveBytes) this.peakLiveBytes = this.liveBytes;
    return buf;
  }

  /** The most recently freed pending buffer of this size class, if any. */
  private takePending(size: number): GPUBuffer | undefined {
    const pending = this.pending;
    for (let i = pending.length - 1; i >= 0; i--) {
      if (pending[i].size !== size) continue;
      return pending.splice(i, 1)[0];
    }
    return undefined;
  }

  resetPeak(): void {
    this.peakLiveBytes = this.liveBytes;
  }

  /** Returns a buffer; it becomes reusable at the next flush(). */
  release(buf: GPUBuffer): void {
    this.liveBuffers--;
    this.liveBytes -= buf.size;
    this.pending.push(buf);
    this.pooledBuffers++;
    this.pooledBytes += buf.size;
  }

  /** Called right after the command encoder is submitted. */
  flush(): void {
    for (const buf of this.pending) {
      let list = this.free.get(buf.size);
      if (!list) this.free.set(buf.size, (list = []));
      list.push(buf);
    }
    this.pending.length = 0;
  }

  /** Frees every pooled buffer (e.g. after a phase with large temporaries). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.onDestroy();
    this.pooledBuffers = this.pending.length;
    this.pooledBytes = this.pending.reduce((s, b) => s + b.size, 0);
  }
}

/**
 * Rounds a request up to a size class: powers of two up to 4 KiB, then eight steps per power of
 * two, so a reused buffer wastes at most 1/8 of itself while similar shapes share classes.
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 4096) return 2 ** Math.ceil(Math.log2(b));
  const step = 2 ** (Math.floor(Math.log2(b - 1)) - 3);
  return Math.ceil(b / step) * step;
}
