// The Tensor: a shape, a dtype and a reference to device memory, plus the graph node that made it.
import { type DType, type TypedArray, isFloat } from './dtype.js';
import { type Shape, sizeOf } from './shape.js';
import { type Device, Storage } from './device.js';
import { track, untrack } from './scope.js';
import type { TensorInfo } from './kernel.js';
import { dropHolder } from './graph.js';

/** A recorded op: its inputs, its outputs, and how to turn output gradients into input gradients. */
export interface GraphNode {
  readonly name: string;
  /** For the graph's shape (their .node, .requiresGrad, .shape): their memory may be gone. */
  readonly inputs: Tensor[];
  readonly outputs: WeakRef<Tensor>[];
  /** dys[k] is the gradient of output k, or null if none reached it. Returns one entry per input. */
  backward(dys: (Tensor | null)[]): (Tensor | null)[];
  /** The graph's own handles on the tensors backward reads (see graph.ts). */
  saved: Tensor[];
  /** Undisposed outputs plus unreleased nodes consuming an output. */
  holders: number;
  /** Saved tensors freed: backward can no longer run through this node. */
  released: boolean;
}

export interface Recipe {
  inputs: Tensor[];
  /** The same kernel on the same inputs: the same values, bit for bit. Runs under noGrad. */
  run: (inputs: Tensor[]) => Tensor;
}

let nextId = 0;

/** The id the next tensor will get: tensors with an id at or above it were made after this call. */
export function nextTensorId(): number {
  return nextId;
}

export class Tensor implements TensorInfo {
  readonly isTensor = true;
  readonly id = nextId++;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly device: Device;
  /** Set by backward() on leaves that require grad; accumulates across backward() calls. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, while the graph is alive. */
  node: GraphNode | null = null;
  /** Set by keep(): tidy() leaves it alone. */
  isKept = false;
  /**
   * How to compute this tensor again from tensors the graph keeps anyway (an op sets it on its output
   * when that is cheap: SwiGLU from gate and up, a norm from its input). A backward rule that reads
   * this tensor then keeps the recipe's inputs instead and recomputes it when backward reaches the
   * rule (selective activation recomputation).
   */
  recipe?: Recipe;
  name?: string;
  private _requiresGrad = false;
  private _storage: Storage | null;

  constructor(storage: Storage, shape: Shape, dtype: DType) {
    if (storage.length < sizeOf(shape)) {
      throw new Error(`storage of ${storage.length} elements is too small for shape [${shape}]`);
    }
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.device = storage.device;
    track(this);
  }

  get storage(): Storage {
    if (!this._storage) throw new Error(`tensor${this.name ? ` '${this.name}'` : ''} [${this.shape}] was used after dispose()`);
    return this._storage;
  }
  get size(): number { return sizeOf(this.shape); }
  get rank(): number { return this.shape.length; }
  get isDisposed(): boolean { return this._storage === null; }
  get isLeaf(): boolean { return this.node === null; }

  get requiresGrad(): boolean { return this._requiresGrad; }
  set requiresGrad(v: boolean) {
    if (v && !isFloat(this.dtype)) throw new Error(`only float tensors can require grad (this one is ${this.dtype})`);
    this._requiresGrad = v;
  }

  /**
   * Copies the values to the host. Waits for every kernel queued before it. bfloat16 values come
   * back widened to a Float32Array (exactly).
   */
  async data(): Promise<TypedArray> {
    const all = await this.device.read(this.storage);
    const mine = all.length === this.size ? all : all.subarray(0, this.size);
    if (this.dtype !== 'bfloat16') return mine;
    const wide = new Float32Array(mine.length);
    new Uint32Array(wide.buffer).set(Uint32Array.from(mine as Uint16Array, (b) => b << 16));
    return wide;
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs a tensor with one element, this one has shape [${this.shape}]`);
    return (await this.data())[0];
  }

  /** Nested JS arrays, as tensor.tolist() in PyTorch. */
  async array(): Promise<unknown> {
    const flat = Array.from(await this.data());
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return flat[offset];
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /**
   * Frees the device memory now (shared with views, and with the graph where a backward rule saved
   * this tensor, until the last of them goes). Idempotent. A disposed tensor keeps its place in
   * the graph: backward can still pass through it.
   */
  dispose(): void {
    if (!this._storage) return;
    const s = this._storage;
    this._storage = null;
    untrack(this);
    if (--s.refs === 0) s.device.release(s);
    if (this.node) dropHolder(this.node);
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Drops the gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape}]${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/**
 * The graph's own handle on a tensor a backward rule reads: the same memory, tracked by no tidy(),
 * disposed when the node is released. It reports the original's requiresGrad.
 */
export function savedHandle(t: Tensor): Tensor {
  const s = t.storage;
  s.refs++;
  const h = new Tensor(s, t.shape, t.dtype);
  untrack(h);
  if (t.requiresGrad) h.requiresGrad = true;
  if (t.name !== undefined) h.name = t.name;
  return h;
}

/** A new tensor sharing `base`'s memory (reshape). */
export function viewOf(base: Tensor, shape: Shape): Tensor {
  const s = base.storage;
  s.refs++;
  return new Tensor(s, shape, base.dtype);
}
