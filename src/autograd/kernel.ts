// Kernels are registered by name and device kind (as in TF.js's kernel registry): the op layer asks
// for 'matmul' and gets the CPU reference or the WGSL kernel depending on where its inputs live.
import type { DType } from './dtype.js';
import type { Shape } from './shape.js';
import type { Device, DeviceKind, Storage } from './device.js';

/** What a kernel sees of a tensor: memory, shape, dtype. Kernels never touch the graph. */
export interface TensorInfo {
  storage: Storage;
  shape: Shape;
  dtype: DType;
}

export type KernelImpl<Attrs = any> = (device: Device, inputs: TensorInfo[], attrs: Attrs) => TensorInfo[];

const registry = new Map<string, KernelImpl>();

export function registerKernel<Attrs>(name: string, kind: DeviceKind, impl: KernelImpl<Attrs>): void {
  const key = `${kind}:${name}`;
  if (registry.has(key)) throw new Error(`kernel '${name}' is already registered for ${kind}`);
  registry.set(key, impl as KernelImpl);
}

export function getKernel(name: string, kind: DeviceKind): KernelImpl {
  const impl = registry.get(`${kind}:${name}`);
  if (!impl) throw new Error(`no '${name}' kernel for the ${kind} device`);
  return impl;
}

export function hasKernel(name: string, kind: DeviceKind): boolean {
  return registry.has(`${kind}:${name}`);
}

export function listKernels(kind: DeviceKind): string[] {
  const prefix = `${kind}:`;
  return [...registry.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}
