// Kernel times measured on the GPU: each dispatch runs in a compute pass of its own whose start and
// end the GPU stamps into a query set (WebGPU's 'timestamp-query' feature). Wall-clock timing from
// JS also counts submission and scheduling; this counts only the kernels.
export interface KernelTiming {
  /** The dispatch's kernel name. */
  name: string;
  /** GPU time between the start and the end of its pass, in milliseconds. */
  ms: number;
}

/** A query set holds at most 4096 queries in WebGPU: two per kernel, so 2048 kernels per set. */
export const KERNELS_PER_QUERY_SET = 2048;
/**
 * A profile chains query sets as it fills, so a whole training step (a few thousand kernels for a
 * 30-layer model) fits; the default capacity bounds the memory a runaway loop could take.
 */
export const MAX_PROFILED_KERNELS = 65536;

const QUERY_RESOLVE = 0x0200;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;

export class KernelProfiler {
  private readonly querySets: GPUQuerySet[] = [];
  private readonly names: string[] = [];
  private readonly buffers: GPUBuffer[] = [];

  constructor(private readonly gpu: GPUDevice, private readonly capacity = MAX_PROFILED_KERNELS) {
    if (!gpu.features.has('timestamp-query')) throw new Error("profiling needs the adapter's 'timestamp-query' feature, which this adapter lacks");
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_PROFILED_KERNELS) throw new Error(`a profile holds 1 to ${MAX_PROFILED_KERNELS} kernels, not ${capacity}`);
  }

  /** The descriptor of the pass that will hold the next kernel. */
  nextPass(name: string): GPUComputePassDescriptor {
    const k = this.names.length;
    if (k >= this.capacity) throw new Error(`the profile is full (${this.capacity} kernels): profile less at once, or pass a larger capacity`);
    const set = Math.floor(k / KERNELS_PER_QUERY_SET), slot = k % KERNELS_PER_QUERY_SET;
    if (set === this.querySets.length) {
      const kernels = Math.min(KERNELS_PER_QUERY_SET, this.capacity - k);
      this.querySets.push(this.gpu.createQuerySet({ type: 'timestamp', count: 2 * kernels }));
    }
    this.names.push(name);
    return { timestampWrites: { querySet: this.querySets[set], beginningOfPassWriteIndex: 2 * slot, endOfPassWriteIndex: 2 * slot + 1 } };
  }

  /** Records the copy of the stamps into a buffer the host can map (read() maps it after submission). */
  resolve(encoder: GPUCommandEncoder): void {
    const n = 2 * this.names.length;
    if (n === 0) return;
    const resolved = this.gpu.createBuffer({ size: 8 * n, usage: QUERY_RESOLVE | COPY_SRC });
    const staging = this.gpu.createBuffer({ size: 8 * n, usage: MAP_READ | COPY_DST });
    for (const [i, set] of this.querySets.entries()) {
      const first = 2 * i * KERNELS_PER_QUERY_SET;
      encoder.resolveQuerySet(set, 0, Math.min(2 * KERNELS_PER_QUERY_SET, n - first), resolved, 8 * first);
    }
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
    for (const q of this.querySets) q.destroy();
    this.querySets.length = 0;
  }
}
