// Making tensors: from host data (uploaded), or filled on the device.
import { bfloat16Bits } from './bfloat16.js';
import { Tensor } from './tensor.js';
import { type Device, getDefaultDevice } from './device.js';
import { type DType, type TypedArray, allocArray, isFloat, toTypedArray } from './dtype.js';
import { type Shape, checkShape, sizeOf } from './shape.js';
import { runOnDevice } from './op.js';
import { randomNormal, randomUniform } from './random.js';

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Defaults to the device chosen by init(). */
  device?: Device;
  name?: string;
}

type NestedArray = number | NestedArray[];

/** The shape of a nested JS array, checking that it is rectangular. */
function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], depth = 0, out: number[] = []): number[] {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new Error('tensor(): nested array is not rectangular');
    out.push(data);
    return out;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) throw new Error(`tensor(): nested array is not rectangular at depth ${depth}`);
  for (const d of data) flatten(d, shape, depth + 1, out);
  return out;
}

/**
 * A tensor from data: a number, a (nested) array, or a typed array with an explicit shape.
 * tensor([[1, 2], [3, 4]]) has shape [2, 2]; tensor(new Float32Array(6), [2, 3]) too.
 */
export function tensor(data: NestedArray | TypedArray, shape?: Shape, opts: TensorOptions = {}): Tensor {
  let values: ArrayLike<number>;
  let s: number[];
  if (ArrayBuffer.isView(data)) {
    values = data;
    s = shape ? [...shape] : [data.length];
  } else {
    s = inferShape(data);
    values = flatten(data, s);
    if (shape) s = [...shape];
  }
  checkShape(s);
  if (sizeOf(s) !== values.length) throw new Error(`tensor(): ${values.length} values do not fill shape [${s}]`);
  const dtype = opts.dtype ?? (data instanceof Int32Array ? 'int32' : data instanceof Float64Array ? 'float64' : 'float32');
  const device = opts.device ?? getDefaultDevice();
  if (!device.supportsDtype(dtype)) throw new Error(`the ${device.kind} device has no ${dtype}`);
  // bfloat16 values are rounded to their 16-bit patterns (nearest, ties to even).
  const host = dtype === 'bfloat16' ? Uint16Array.from(values as ArrayLike<number>, bfloat16Bits) : toTypedArray(dtype, values);
  const t = new Tensor(device.upload(dtype, host), s, dtype);
  return finish(t, opts);
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  if (opts.name) t.name = opts.name;
  return t;
}

export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  checkShape(shape);
  const dtype = opts.dtype ?? 'float32';
  const t = runOnDevice(opts.device ?? getDefaultDevice(), 'fill', { shape: [...shape], dtype, value });
  return finish(t, opts);
}

export const zeros = (shape: Shape, opts: TensorOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts: TensorOptions = {}): Tensor => full(shape, 1, opts);

function like(t: Tensor, opts: TensorOptions): TensorOptions {
  return { dtype: t.dtype, device: t.device, ...opts };
}
export const zerosLike = (t: Tensor, opts: TensorOptions = {}): Tensor => full(t.shape, 0, like(t, opts));
export const onesLike = (t: Tensor, opts: TensorOptions = {}): Tensor => full(t.shape, 1, like(t, opts));
export const fullLike = (t: Tensor, value: number, opts: TensorOptions = {}): Tensor => full(t.shape, value, like(t, opts));

function sampled(shape: Shape, opts: TensorOptions, draw: () => number): Tensor {
  checkShape(shape);
  const dtype = opts.dtype ?? 'float32';
  if (!isFloat(dtype)) throw new Error(`random tensors are float, not ${dtype}`);
  const v = allocArray(dtype, sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = draw();
  return tensor(v, shape, { ...opts, dtype });
}

/** Standard normal samples (seed with manualSeed). */
export const randn = (shape: Shape, opts: TensorOptions = {}): Tensor => sampled(shape, opts, randomNormal);
/** Uniform samples in [0, 1). */
export const rand = (shape: Shape, opts: TensorOptions = {}): Tensor => sampled(shape, opts, randomUniform);

/** [start, start+step, …) below end, as torch.arange. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const n = Math.max(0, Math.ceil((end - start) / step));
  const v = Array.from({ length: n }, (_, i) => start + i * step);
  return tensor(v, [n], { dtype: 'int32', ...opts });
}

/** A scalar (shape []) on the same device and dtype as `like`, for mixing numbers into ops. */
export function scalarLike(value: number, like: Tensor): Tensor {
  return tensor([value], [], { dtype: like.dtype, device: like.device });
}
