// The WebGPU device: Dawn in Node (the `webgpu` package) or navigator.gpu in a browser. Kernels
// are queued into one command encoder and submitted in batches; reading a tensor back flushes.
import { type Device, type MemoryStats, Storage } from '../../autograd/device.js';
import { type DType, type TypedArray, allocArray, bytesPerElement } from '../../autograd/dtype.js';
import { BufferPool } from './buffer-pool.js';
import { StagingPool } from './staging-pool.js';
import { KernelProfiler, type KernelTiming } from './profiler.js';
import { BindGroupCache, LayoutCache, moveParamsToGroup1, storageBindings } from './bindings.js';
import { ParamsRing } from './params-ring.js';
import { isSoftwareAdapter } from './adapter.js';

/** A pipeline with what binding its buffers needs. */
export interface CompiledKernel {
  pipeline: GPUComputePipeline;
  /** Group 0's layout (storage buffers only) and its cache key. */
  layout: GPUBindGroupLayout;
  layoutKey: string;
  /** Group 0's first binding: 1 when params sit in group 1, else 0. */
  first: number;
  /** Storage buffers in group 0. */
  bindings: number;
}

/** One kernel launch. WGSL binding 0 is `params` (the meta words, when given), then inputs, then outputs, in order. */
export interface DispatchSpec {
  /** Shown in error messages. */
  name: string;
  /** WGSL source; also the pipeline cache key, so shape constants baked into it key it too. */
  code: string;
  /** Small per-launch parameters (sizes, strides, scalars as bit patterns), bound read-only. */
  meta?: Uint32Array;
  inputs: Storage[];
  outputs: Storage[];
  /** Workgroup counts, each at most maxComputeWorkgroupsPerDimension. */
  workgroups: [number, number?, number?];
}

const STORAGE_USAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST
/**
 * Dispatches queued before the encoder is submitted. The GPU starts on a submit only, so a long
 * batch would leave it idle while JS encodes; small batches let it work while JS queues the next.
 * (TF.js's WebGPU backend submits every 15.)
 */
const DISPATCHES_PER_SUBMIT = dispatchesPerSubmit((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.RELPO_DISPATCHES_PER_SUBMIT);
/** Params bytes per submit: DISPATCHES_PER_SUBMIT launches at up to 1 KiB each fit without a forced submit. */
const PARAMS_RING_BYTES = Math.max(16, DISPATCHES_PER_SUBMIT) * 1024;

export class WebGPUDevice implements Device {
  readonly kind = 'webgpu' as const;
  readonly pool: BufferPool;
  private pipelines = new Map<string, CompiledKernel>();
  /** Read-back buffers, reused (staging-pool.ts). */
  private readonly staging: StagingPool;
  private pipelinesNoParams = new Map<string, CompiledKernel>();
  private readonly layouts: LayoutCache;
  private readonly bindGroups: BindGroupCache;
  private readonly params: ParamsRing;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private queued = 0;
  private error: string | null = null;
  private lastKernel = '';
  private profiler: KernelProfiler | null = null;
  private destroyed = false;
  /** A software rasterizer (lavapipe): kernels run on the CPU (adapter.ts). Read per launch by kernels that tune for it. */
  readonly softwareAdapter: boolean;

  constructor(
    readonly gpu: GPUDevice,
    readonly description: string,
    readonly adapterInfo: GPUAdapterInfo,
    /** Kept alive for as long as the device: see create.ts. */
    private readonly owners: { gpu: GPU; adapter: GPUAdapter },
  ) {
    this.softwareAdapter = isSoftwareAdapter(adapterInfo);
    this.pool = new BufferPool(gpu, STORAGE_USAGE);
    this.staging = new StagingPool(gpu);
    this.layouts = new LayoutCache(gpu);
    this.bindGroups = new BindGroupCache(gpu);
    // Bind groups may name pooled buffers: when the pool destroys buffers, they go too.
    this.pool.onDestroy = () => this.bindGroups.clear();
    this.params = new ParamsRing(gpu, this.layouts.paramsLayout, PARAMS_RING_BYTES, gpu.limits.minStorageBufferOffsetAlignment);
    gpu.addEventListener('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error.message;
      this.error ??= `WebGPU error after kernel '${this.lastKernel}': ${msg}`;
    });
  }

  get limits(): GPUSupportedLimits {
    return this.gpu.limits;
  }

  supportsDtype(dtype: DType): boolean {
    return dtype === 'float32' || dtype === 'int32' || dtype === 'bfloat16';
  }

  private checkDtype(dtype: DType): void {
    if (!this.supportsDtype(dtype)) throw new Error(`the webgpu device has no ${dtype} (WGSL has no 64-bit floats); use float32 or the cpu device`);
  }

  /** forUpload: the buffer is filled by queue.writeBuffer before the queued kernels run (see BufferPool). */
  alloc(dtype: DType, length: number, forUpload = false): Storage {
    this.checkDtype(dtype);
    const bytes = length * bytesPerElement(dtype);
    if (bytes > this.gpu.limits.maxStorageBufferBindingSize) {
      throw new Error(`a ${dtype} buffer of ${length} elements (${bytes} bytes) exceeds this adapter's maxStorageBufferBindingSize (${this.gpu.limits.maxStorageBufferBindingSize})`);
    }
    return new Storage(this, this.pool.acquire(bytes, forUpload), dtype, length);
  }

  upload(dtype: DType, data: TypedArray): Storage {
    const s = this.alloc(dtype, data.length, true);
    // A buffer taken for an upload is never still in use by unsubmitted work (see BufferPool), so writing now is safe.
    if (data.byteLength > 0) {
      // writeBuffer moves whole 4-byte words: an odd count of 16-bit elements is padded first.
      const src = data.byteLength % 4 === 0 ? data : padToWords(data);
      this.gpu.queue.writeBuffer(s.handle as GPUBuffer, 0, src.buffer, src.byteOffset, alignedBytes(src.byteLength));
    }
    return s;
  }

  async read(storage: Storage): Promise<TypedArray> {
    const bytes = storage.length * bytesPerElement(storage.dtype);
    if (bytes === 0) return allocArray(storage.dtype, 0);
    const staging = this.staging.acquire(alignedBytes(bytes));
    this.endPass();
    this.getEncoder().copyBufferToBuffer(storage.handle as GPUBuffer, 0, staging, 0, alignedBytes(bytes));
    this.flush();
    try {
      await staging.mapAsync(0x0001 /* GPUMapMode.READ */);
    } catch (e) {
      staging.destroy();
      throw e;
    }
    const out = allocArray(storage.dtype, storage.length);
    new Uint8Array(out.buffer).set(new Uint8Array(staging.getMappedRange(0, alignedBytes(bytes))).subarray(0, bytes));
    staging.unmap();
    this.staging.release(staging);
    this.throwIfError();
    return out;
  }

  release(storage: Storage): void {
    if (!this.destroyed) this.pool.release(storage.handle as GPUBuffer);
  }

  memory(): MemoryStats {
    const p = this.pool;
    return { liveBuffers: p.liveBuffers, liveBytes: p.liveBytes, peakLiveBytes: p.peakLiveBytes, pooledBuffers: p.pooledBuffers, pooledBytes: p.pooledBytes };
  }

  /** Starts memory().peakLiveBytes again from the bytes live now (torch.cuda.reset_peak_memory_stats). */
  resetPeakMemory(): void {
    this.pool.resetPeak();
  }

  /**
   * A compiled pipeline for this WGSL source, compiled once. With `withParams`, the shader's
   * `params` declaration moves to group 1 (the params ring, bound at a dynamic offset) and group 0
   * holds the storage buffers from binding 1 on; without, group 0 starts at binding 0.
   */
  pipeline(code: string, name: string, withParams = false): CompiledKernel {
    const cache = withParams ? this.pipelines : this.pipelinesNoParams;
    let k = cache.get(code);
    if (!k) {
      const first = withParams ? 1 : 0;
      const signature = storageBindings(code).slice(first).map((w) => (w ? 'w' : 'r')).join('');
      const layout = this.layouts.layout(signature, first);
      const bindGroupLayouts = withParams ? [layout, this.layouts.paramsLayout] : [layout];
      const module = this.gpu.createShaderModule({ code: withParams ? moveParamsToGroup1(code, name) : code, label: name });
      const pipeline = this.gpu.createComputePipeline({
        layout: this.gpu.createPipelineLayout({ bindGroupLayouts, label: name }),
        compute: { module, entryPoint: 'main' },
        label: name,
      });
      k = { pipeline, layout, layoutKey: `${first}:${signature}`, first, bindings: signature.length };
      cache.set(code, k);
    }
    return k;
  }

  get pipelineCount(): number {
    return this.pipelines.size + this.pipelinesNoParams.size;
  }

  /** Bind-group cache counters (hits: launches that reused a bind group). */
  get bindGroupStats(): { hits: number; misses: number } {
    return { hits: this.bindGroups.hits, misses: this.bindGroups.misses };
  }

  dispatch(spec: DispatchSpec): void {
    this.lastKernel = spec.name;
    const [x, y = 1, z = 1] = spec.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const params = spec.meta !== undefined;
    const k = this.pipeline(spec.code, spec.name, params);
    const buffers: GPUBuffer[] = [];
    for (const s of spec.inputs) buffers.push(s.handle as GPUBuffer);
    for (const s of spec.outputs) buffers.push(s.handle as GPUBuffer);
    if (buffers.length !== k.bindings) {
      throw new Error(`kernel '${spec.name}' declares ${k.bindings} storage buffers after params but was given ${buffers.length}`);
    }
    const bindGroup = this.bindGroups.get(k.layoutKey, k.layout, k.first, buffers);
    if (params && !this.params.fits(spec.meta!.byteLength)) this.flush();
    const offset = params ? this.params.push(spec.meta!) : 0;
    let pass: GPUComputePassEncoder;
    if (this.profiler) {
      // A pass of its own, stamped at its start and end.
      this.endPass();
      pass = this.getEncoder().beginComputePass(this.profiler.nextPass(spec.name));
    } else {
      pass = this.getPass();
    }
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, bindGroup);
    if (params) pass.setBindGroup(1, this.params.bindGroup, [offset]);
    pass.dispatchWorkgroups(x, y, z);
    if (this.profiler) pass.end();
    if (++this.queued >= DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Whether profile() can time kernels here (the adapter has 'timestamp-query'). */
  get canProfile(): boolean {
    return this.gpu.features.has('timestamp-query');
  }

  /**
   * Times every kernel that `fn` queues on the GPU itself (timestamp queries), e.g. for benchmarks:
   * `const { result, kernels } = await device.profile(() => r.matmul(a, b))`. Each kernel then runs
   * in a compute pass of its own, which costs a little; at most `capacity` kernels (default and
   * maximum MAX_PROFILED_KERNELS, 65536; query sets of 2048 kernels are chained as the profile fills).
   */
  async profile<T>(fn: () => T, capacity?: number): Promise<{ result: T; kernels: KernelTiming[] }> {
    if (this.profiler) throw new Error('profile() calls cannot nest');
    this.flush();
    const profiler = new KernelProfiler(this.gpu, capacity);
    this.profiler = profiler;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      // Passes already recorded stamp into the query set: submit them before freeing it.
      this.profiler = null;
      this.flush();
      profiler.dispose();
      throw e;
    } finally {
      this.profiler = null;
    }
    this.endPass();
    profiler.resolve(this.getEncoder());
    this.flush();
    const kernels = await profiler.read();
    this.throwIfError();
    return { result, kernels };
  }

  /** Copies bytes between buffers, in queue order with the kernels. */
  copy(src: Storage, srcOffsetBytes: number, dst: Storage, dstOffsetBytes: number, bytes: number): void {
    if (bytes === 0) return;
    this.endPass();
    this.getEncoder().copyBufferToBuffer(src.handle as GPUBuffer, srcOffsetBytes, dst.handle as GPUBuffer, dstOffsetBytes, bytes);
  }

  /** Submits everything queued so far. */
  flush(): void {
    this.endPass();
    if (this.encoder) {
      // The params of the encoder's launches, written just before it is submitted (queue order).
      this.params.upload(this.gpu.queue);
      this.gpu.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.queued = 0;
    }
    this.pool.flush();
  }

  async sync(): Promise<void> {
    this.flush();
    await this.gpu.queue.onSubmittedWorkDone();
    this.throwIfError();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.flush();
    this.pool.trim();
    this.staging.close();
    this.params.destroy();
    this.destroyed = true;
    this.gpu.destroy();
  }

  private throwIfError(): void {
    if (this.error) {
      const e = this.error;
      this.error = null;
      throw new Error(e);
    }
  }

  private getEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.gpu.createCommandEncoder());
  }

  private getPass(): GPUComputePassEncoder {
    return (this.pass ??= this.getEncoder().beginComputePass());
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }
}

/**
 * Dispatches per submit: 16, or RELPO_DISPATCHES_PER_SUBMIT (1-1024) to tune it on a new GPU. On an
 * H200, 64 made a 1024³ matmul 0.132 ms per launch against 0.097 with 16 (the GPU waited longer
 * for its first submit of a batch).
 */
export function dispatchesPerSubmit(env: string | undefined): number {
  if (env === undefined || env === '') return 16;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`RELPO_DISPATCHES_PER_SUBMIT must be an integer from 1 to 1024, got '${env}'`);
  return n;
}

function alignedBytes(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** A copy of `data`'s bytes padded with zeros to a whole number of 4-byte words. */
function padToWords(data: TypedArray): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}
