// The contract between tensors and the machines that hold their memory. The implementations live in
// src/device/ (cpu, webgpu); this layer only knows the interface.
import type { DType, TypedArray } from './dtype.js';

export type DeviceKind = 'cpu' | 'webgpu';

/** A block of device memory holding `length` elements of one dtype, shared by views (reshape). */
export class Storage {
  refs = 1;
  constructor(
    readonly device: Device,
    /** Float32Array/Float64Array/Int32Array on the CPU, a GPUBuffer on WebGPU. */
    readonly handle: unknown,
    readonly dtype: DType,
    readonly length: number,
  ) {}
}

export interface MemoryStats {
  /** Buffers held by live tensors. */
  liveBuffers: number;
  liveBytes: number;
  /** The most live bytes since the device was made or resetPeakMemory() (devices that track it). */
  peakLiveBytes?: number;
  /** Buffers freed by tensors and kept for reuse. */
  pooledBuffers: number;
  pooledBytes: number;
}

export interface Device {
  readonly kind: DeviceKind;
  /** One line saying what is running the kernels (adapter, driver). */
  readonly description: string;
  supportsDtype(dtype: DType): boolean;
  alloc(dtype: DType, length: number): Storage;
  upload(dtype: DType, data: TypedArray): Storage;
  /** Copies `length` elements back to the host; resolves once the device has finished all work before it. */
  read(storage: Storage): Promise<TypedArray>;
  release(storage: Storage): void;
  memory(): MemoryStats;
  /** Starts memory().peakLiveBytes again from the bytes live now. */
  resetPeakMemory(): void;
  /** Waits for every queued kernel to finish. */
  sync(): Promise<void>;
  destroy(): void;
}

let defaultDevice: Device | null = null;

export function setDefaultDevice(device: Device): void {
  defaultDevice = device;
}

export function getDefaultDevice(): Device {
  if (!defaultDevice) throw new Error('no device: call `await init()` (or init({ device: "cpu" })) first');
  return defaultDevice;
}

export function hasDefaultDevice(): boolean {
  return defaultDevice !== null;
}
