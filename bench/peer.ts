// The peer: TensorFlow.js with its WebGPU backend (@tensorflow/tfjs-backend-webgpu), run in the same
// Node process on the same Dawn instance as relpo. TF.js asks navigator.gpu for the adapter (the
// same 'high-performance' request as relpo, so the same physical adapter) and makes its own
// GPUDevice on it; its work goes to that device's queue.
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs-core';
import { DAWN_OPTIONS } from '../src/device/webgpu/create.js';

export type Tf = typeof TF;

export interface Peer {
  tf: Tf;
  /** '@tensorflow/tfjs-backend-webgpu 4.22.0'. */
  name: string;
  /** The adapter as TF.js sees it. */
  adapter: string;
  /** The TF.js flags that matter for timing, as set for the run. */
  flags: Record<string, unknown>;
  /** Submits what TF.js has queued and waits until its device has finished it. */
  sync(): Promise<void>;
  destroy(): void;
}

/** The internals of tfjs-backend-webgpu's WebGPUBackend that sync() uses (present in 4.x). */
interface WebGPUBackendInternals {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
  adapterInfo?: { vendor?: string; architecture?: string };
}

/**
 * Puts a WebGPU entry point where TF.js looks for one: Node 20 has no navigator, so
 * globalThis.navigator = { gpu } with a Dawn instance from the `webgpu` package, and Dawn's
 * globals (GPUBufferUsage, GPUMapMode, ...) on globalThis. Call it before relpo makes its device:
 * relpo's create.ts then takes the same navigator.gpu, so both share one instance. The instance is
 * returned and kept on navigator for the whole run: a garbage-collected Dawn instance crashes the
 * process at random.
 */
export async function installNavigatorGpu(): Promise<GPU | null> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  try {
    const dawn = await import('webgpu');
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create(DAWN_OPTIONS);
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    return gpu;
  } catch {
    return null;
  }
}

/** Loads TF.js and its WebGPU backend; a string says why it could not. */
export async function loadPeer(): Promise<Peer | string> {
  let tf: Tf;
  try {
    tf = (await import('@tensorflow/tfjs-core')) as Tf;
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    return `TF.js not installed (npm install --save-dev @tensorflow/tfjs-core @tensorflow/tfjs-backend-webgpu): ${(e as Error).message.split('\n')[0]}`;
  }
  // No "install tfjs-node" banner, no debug checks on every op.
  tf.env().set('PROD', true);
  // Small inputs that still live on the host are otherwise run by TF.js's CPU kernels: always GPU.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  let ok = false;
  try {
    ok = await tf.setBackend('webgpu');
    await tf.ready();
  } catch (e) {
    return `TF.js could not start its webgpu backend: ${(e as Error).message}`;
  }
  if (!ok || tf.getBackend() !== 'webgpu') return 'TF.js could not start its webgpu backend';
  const be = tf.backend() as unknown as WebGPUBackendInternals;
  if (typeof be.submitQueue !== 'function' || typeof be.endComputePassEncoder !== 'function' || !be.device) {
    return 'this tfjs-backend-webgpu has no submitQueue/endComputePassEncoder (the bench knows 4.x)';
  }
  const require = createRequire(import.meta.url);
  let version = '?';
  try {
    version = (require('@tensorflow/tfjs-backend-webgpu/package.json') as { version: string }).version;
  } catch {
    /* name without version */
  }
  const info = be.adapterInfo ?? {};
  const flags: Record<string, unknown> = {};
  for (const f of ['WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 'WEBGPU_CPU_FORWARD', 'WEBGPU_MATMUL_PROGRAM_TYPE', 'WEBGPU_USE_LOW_POWER_GPU']) flags[f] = tf.env().get(f);
  flags.timestampQuery = be.device.features.has('timestamp-query') ? 'available, unused (only tf.time/tf.profile write timestamps)' : 'absent';
  return {
    tf,
    name: `@tensorflow/tfjs-backend-webgpu ${version}`,
    adapter: [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown',
    flags,
    async sync() {
      if (be.commandEncoder) {
        be.endComputePassEncoder();
        be.submitQueue();
      }
      await be.device.queue.onSubmittedWorkDone();
    },
    destroy() {
      tf.engine().reset();
      be.device.destroy();
    },
  };
}
