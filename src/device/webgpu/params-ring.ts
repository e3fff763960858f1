// The per-launch `params` words of every kernel queued in one command encoder, packed into one
// GPU buffer and bound with a dynamic offset. A fresh buffer and bind group per launch cost more
// host time than a 1024³ matmul takes on an H200; with the ring a launch copies its words into a
// host array and the whole ring is written once, just before the encoder is submitted. Queue
// operations run in order, so that write lands after the previous submit's kernels have read the
// ring: one GPU buffer serves every submit.

/** Largest params block one launch may have (the binding's size): 256 u32 words. */
export const MAX_PARAMS_BYTES = 1024;

export class ParamsRing {
  readonly buffer: GPUBuffer;
  readonly bindGroup: GPUBindGroup;
  private readonly host: Uint32Array;
  private used = 0;

  /**
   * @param capacity bytes of params one submit may hold (launches past it force a submit).
   * @param align the device's minStorageBufferOffsetAlignment (256 on most adapters).
   */
  constructor(
    device: GPUDevice,
    readonly layout: GPUBindGroupLayout,
    private readonly capacity: number,
    private readonly align: number,
  ) {
    // The binding at the last offset still spans MAX_PARAMS_BYTES.
    const size = capacity + MAX_PARAMS_BYTES;
    this.buffer = device.createBuffer({ size, usage: 0x80 | 0x08 /* STORAGE | COPY_DST */, label: 'relpo params ring' });
    this.host = new Uint32Array(size / 4);
    this.bindGroup = device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: this.buffer, offset: 0, size: MAX_PARAMS_BYTES } }] });
  }

  /** Whether `bytes` more fit before the next upload. */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.capacity;
  }

  /** Copies the words in; returns their dynamic offset (bytes). Call fits() first. */
  push(words: Uint32Array): number {
    if (words.byteLength > MAX_PARAMS_BYTES) throw new Error(`a kernel's params (${words.byteLength} bytes) exceed the ${MAX_PARAMS_BYTES} bytes of its binding`);
    const offset = this.used;
    this.host.set(words, offset / 4);
    this.used += Math.ceil(Math.max(words.byteLength, 4) / this.align) * this.align;
    return offset;
  }

  /** Writes what was pushed since the last upload (call right before submitting) and starts over. */
  upload(queue: GPUQueue): void {
    if (this.used === 0) return;
    queue.writeBuffer(this.buffer, 0, this.host.buffer, 0, this.used);
    this.used = 0;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
