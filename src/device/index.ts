// Choosing the device: RELPO_DEVICE=webgpu|cpu|auto (auto: WebGPU when an adapter exists, else CPU).
import { type Device, setDefaultDevice } from '../autograd/device.js';
import { CpuDevice } from './cpu/cpu-device.js';
import { createWebGPUDevice } from './webgpu/create.js';
import type { WebGPUDevice } from './webgpu/webgpu-device.js';

export type DeviceChoice = 'webgpu' | 'cpu' | 'auto';

let cpu: CpuDevice | null = null;
let webgpu: Promise<WebGPUDevice | null> | null = null;

/** The CPU device (one per process). */
export function cpuDevice(): CpuDevice {
  return (cpu ??= new CpuDevice());
}

/** The WebGPU device, created on first use; null when no adapter exists. */
export function webgpuDevice(): Promise<WebGPUDevice | null> {
  return (webgpu ??= createWebGPUDevice());
}

export interface InitOptions {
  device?: DeviceChoice;
  /** Do not print the one-line report of the chosen device. */
  quiet?: boolean;
}

function parseChoice(v: string | undefined): DeviceChoice {
  const c = (v ?? 'auto').toLowerCase();
  if (c !== 'webgpu' && c !== 'cpu' && c !== 'auto') throw new Error(`RELPO_DEVICE must be webgpu, cpu or auto (got '${v}')`);
  return c;
}

/** Node's process, or undefined in a browser. */
function nodeProcess(): NodeJS.Process | undefined {
  return (globalThis as { process?: NodeJS.Process }).process;
}

/** Picks the device that new tensors go to, and says which on stderr. */
export async function init(opts: InitOptions = {}): Promise<Device> {
  const choice = opts.device ?? parseChoice(nodeProcess()?.env.RELPO_DEVICE);
  let device: Device;
  if (choice === 'cpu') {
    device = cpuDevice();
  } else {
    const gpu = await webgpuDevice();
    if (!gpu && choice === 'webgpu') {
      throw new Error('RELPO_DEVICE=webgpu but no WebGPU adapter was found (on Debian without a GPU: apt-get install -t bookworm-backports mesa-vulkan-drivers)');
    }
    device = gpu ?? cpuDevice();
  }
  setDefaultDevice(device);
  const report = `relpo: device ${device.description}${choice === 'auto' && device.kind === 'cpu' ? ' (no WebGPU adapter found)' : ''}`;
  // A page has no process: the report goes to the console there.
  if (!opts.quiet) {
    const proc = nodeProcess();
    if (proc) proc.stderr.write(`${report}\n`);
    else console.info(report);
  }
  return device;
}

/** Destroys the WebGPU device, if one was made, so Node can exit. */
export async function shutdown(): Promise<void> {
  const gpu = webgpu ? await webgpu : null;
  gpu?.destroy();
  webgpu = null;
}
