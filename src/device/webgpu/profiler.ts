// Kernel times measured on the GPU: each dispatch runs in a compute pass of its own whose start and
// end the GPU stamps into a query set (WebGPU's 'timestamp-query' feature). Wall-clock timing from
// JS also counts submission and scheduling; this counts only the kernels.
export interface KernelTiming {
  /** The dispatch's kernel name. */
  name: string;
  /** GPU time between the start and the end of its pass, in milliseconds. */
  ms: number;
}

/** A query set holds at most 4096 queries in WebGPU: two per kernel. */
export const MAX_PROFILED_KERNELS = 2048;

const QUERY_RESOLVE = 0x0200;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;

export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly names: string[] = [];
  private readonly buffers: GPUBuffer[] = [];

  constructor(private readonly gpu: GPUDevice, private readonly capacity = MAX_PROFILED_KERNELS) {
    if (!gpu.features.has('timestamp-query')) throw new Error("profiling needs the adapter's 'timestamp-query' feature, which this adapter lacks");
    if (capacity < 1 || capacity > MAX_PROFILED_KERNELS) throw new Error(`a profile holds 1 to ${MAX_PROFILED_KERNELS} kernels, not ${capacity}`);
    this.querySet = gpu.createQuerySet({ type: 'timestamp', count: 2 * capacity });
  }

  /** The descriptor of the pass that will hold the next kernel. */
  nextPass(name: string): GPUComputePassDescriptor {
    const k = this.names.length;
    if (k >= this.capacity) throw new Error(`the profile is full (${this.capacity} kernels): profile less at once, or pass a larger capacity`);
    this.names.push(name);
    return { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 } };
  }

  /** Records the copy of the stamps into a buffer the host can map (read() maps it after submission). */
  resolve(encoder: GPUCommandEncoder): void {
    const n = 2 * this.names.length;
    if (n === 0) return;
    const resolved = this.gpu.createBuffer({ size: 8 * n, usage: QUERY_RESOLVE | COPY_SRC });
    const staging = this.gpu.createBuffer({ size: 8 * n, usage: MAP_READ | COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, n, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, 8 * n);
    this.buffers.push(staging, resolved);
  }

  /** The kernels' times, once the resolving commands have been submitted; frees everything. */
  async read(): Promise<KernelTiming[]> {
    try {
      const staging = this.buffers[0];
      if (!staging) return [];
      await staging.mapAsync(MAP_READ);
      const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return this.names.map((name, k) => ({ name, ms: Number(stamps[2 * k + 1] - stamps[2 * k]) / 1e6 }));
    } finally {
      this.dispose();
    }
  }

  dispose(): void {
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
    this.querySet.destroy();
  }
}
