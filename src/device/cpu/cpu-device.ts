// The CPU device: memory is a typed array, kernels are plain TypeScript. It is the reference every
// WebGPU kernel is checked against, and the only device with float64 (for gradcheck).
import { type Device, type MemoryStats, Storage } from '../../autograd/device.js';
import { type DType, type TypedArray, allocArray, bytesPerElement } from '../../autograd/dtype.js';

/** 'Node v20…', or the browser's user agent in a page. */
function runtime(): string {
  const version = (globalThis as { process?: { version?: string } }).process?.version;
  return version ? `Node ${version}` : ((globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? 'no Node');
}

export class CpuDevice implements Device {
  readonly kind = 'cpu' as const;
  readonly description = `cpu (plain TypeScript reference kernels, ${runtime()})`;
  private live = 0;
  private liveBytes = 0;
  private peakLiveBytes = 0;

  supportsDtype(_dtype: DType): boolean {
    return true;
  }

  alloc(dtype: DType, length: number): Storage {
    this.live++;
    this.liveBytes += length * bytesPerElement(dtype);
    if (this.liveBytes > this.peakLiveBytes) this.peakLiveBytes = this.liveBytes;
    return new Storage(this, allocArray(dtype, length), dtype, length);
  }

  upload(dtype: DType, data: TypedArray): Storage {
    const s = this.alloc(dtype, data.length);
    (s.handle as TypedArray).set(data);
    return s;
  }

  async read(storage: Storage): Promise<TypedArray> {
    return (storage.handle as TypedArray).slice();
  }

  release(storage: Storage): void {
    this.live--;
    this.liveBytes -= storage.length * bytesPerElement(storage.dtype);
  }

  memory(): MemoryStats {
    return { liveBuffers: this.live, liveBytes: this.liveBytes, peakLiveBytes: this.peakLiveBytes, pooledBuffers: 0, pooledBytes: 0 };
  }

  resetPeakMemory(): void {
    this.peakLiveBytes = this.liveBytes;
  }

  async sync(): Promise<void> {}

  destroy(): void {}
}

/** The typed array behind a CPU storage, for kernels. */
export function cpuArray(s: Storage): TypedArray {
  return s.handle as TypedArray;
}
