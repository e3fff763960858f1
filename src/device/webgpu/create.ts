// Finding a WebGPU adapter: navigator.gpu in a browser, Dawn (the `webgpu` npm package) in Node.
import { WebGPUDevice } from './webgpu-device.js';
import { adapterName, isSoftwareAdapter } from './adapter.js';

/**
 * Dawn quantizes timestamp queries by default (a browser's defence against timing attacks), which
 * would round kernel times in profiles to tens of microseconds; a framework profiling its own
 * kernels wants them exact.
 */
export const DAWN_OPTIONS = ['disable-dawn-features=timestamp_quantization', ...extraDawnOptions(typeof process === 'undefined' ? undefined : process.env.RELPO_DAWN_OPTIONS)];

/**
 * More Dawn instance options from the environment, space-separated, e.g.
 * RELPO_DAWN_OPTIONS='enable-dawn-features=allow_unsafe_apis,disable_robustness' (the bench uses it
 * to measure what Dawn's bounds clamping costs; see docs/kernels.md).
 */
export function extraDawnOptions(env: string | undefined): string[] {
  return (env ?? '').split(/\s+/).filter((s) => s.length > 0);
}

async function getGPU(): Promise<GPU | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  // RELPO_GPU_SELECT: this process's own GPU among identical ones, chosen before Dawn starts.
  if (typeof process !== 'undefined' && process.env.RELPO_GPU_SELECT?.trim()) {
    const { applyGpuSelection } = await import('./gpu-select.js');
    const chosen = await applyGpuSelection();
    if (chosen) process.stderr.write(`relpo: RELPO_GPU_SELECT: ${chosen.summary}\n`);
  }
  try {
    const dawn = await import('webgpu');
    Object.assign(globalThis, dawn.globals);
    return dawn.create(DAWN_OPTIONS);
  } catch (e) {
    return null;
  }
}

/** Raised limits we ask for when the adapter has them: large buffers and big workgroups. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Resolves to null when there is no adapter (no GPU and no software Vulkan driver). */
export async function createWebGPUDevice(): Promise<WebGPUDevice | null> {
  const gpu = await getGPU();
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k] as number;
  // Timestamp queries, where the adapter has them, let WebGPUDevice.profile() time kernels on the GPU.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  // The GPU instance and adapter are handed to the device to hold: in Dawn's Node binding, a
  // garbage-collected instance tears down the native device under live work (random crashes).
  return new WebGPUDevice(device, describeAdapter(adapter.info), adapter.info, { gpu, adapter });
}

/** One line naming the adapter; lavapipe and other software rasterizers are flagged as CPU. */
export function describeAdapter(info: GPUAdapterInfo): string {
  return `webgpu: ${adapterName(info)}${isSoftwareAdapter(info) ? ' (software rasterizer: runs on the CPU)' : ''}`;
}
