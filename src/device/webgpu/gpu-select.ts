// One GPU per process among identical ones (RELPO_GPU_SELECT): the `webgpu` package (Dawn) picks an
// adapter by name only, so the choice is made below it, by Mesa's device-select Vulkan layer (an
// implicit layer that mesa-vulkan-drivers installs, and that filters every Vulkan driver's devices,
// NVIDIA's included). The layer reads its environment when Dawn creates its Vulkan instance, so the
// variables are set here, in this process, before Dawn starts (docs/distributed.md).

/** A Vulkan device as the layer lists it (`MESA_VK_DEVICE_SELECT=list`). */
export interface VulkanDevice {
  index: number;
  /** vendor:device, hex, as the layer writes it (10de:2330). */
  id: string;
  name: string;
  /** discrete GPU, integrated GPU, virtual GPU, CPU or other. */
  type: string;
  /** The PCI address (0000:01:00.0) when the driver reports it (VK_EXT_pci_bus_info). */
  pci?: string;
}

/** The devices in the layer's list ("  GPU 0: 10005:0 "llvmpipe (…)" CPU 0000:01:00.0"). */
export function parseDeviceList(text: string): VulkanDevice[] {
  const devices: VulkanDevice[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*GPU (\d+): ([0-9a-f]+:[0-9a-f]+) "(.*)" (discrete GPU|integrated GPU|virtual GPU|CPU|other)(?: ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]))?\s*$/i.exec(line);
    if (m) devices.push({ index: Number(m[1]), id: m[2].toLowerCase(), name: m[3], type: m[4], ...(m[5] ? { pci: m[5].toLowerCase() } : {}) });
  }
  return devices;
}

/** This process's rank on its node, from the launcher: Open MPI, MPICH/Intel MPI (Hydra), Slurm. */
export function localRankFromEnv(env: NodeJS.ProcessEnv): { rank: number; source: string } | null {
  for (const source of ['OMPI_COMM_WORLD_LOCAL_RANK', 'MPI_LOCALRANKID', 'SLURM_LOCALID']) {
    const text = env[source];
    if (text === undefined) continue;
    const rank = Number(text);
    if (!Number.isInteger(rank) || rank < 0) throw new Error(`${source}=${text}: not a local rank`);
    return { rank, source };
  }
  return null;
}

/** The layer's form for a device: its PCI address as a DRI_PRIME tag, else vendor:device. */
const tagOf = (d: VulkanDevice) => (d.pci ? `pci-${d.pci.replace(/[:.]/g, '_')}` : d.id);

const listed = (devices: VulkanDevice[]) => devices.map((d) => `  ${d.index}: ${d.id} ${d.pci ?? '(no PCI address)'} "${d.name}" ${d.type}`).join('\n');

export interface GpuSelection {
  device: VulkanDevice;
  /** The layer's variables that expose this device alone to Dawn. */
  env: Record<string, string>;
  /** One line for logs: what was chosen and why. */
  summary: string;
}

/**
 * The device RELPO_GPU_SELECT names for this process: `local-rank` (the local rank's device among
 * the GPUs listed, or among all devices when none is a GPU), or a comma-separated list, one item
 * per local rank (a PCI address 0000:01:00.0, its tag pci-0000_01_00_0, or vendor:device), e.g. to
 * put two ranks on one device. A name that is not among the devices is an error listing them.
 */
export function selectGpu(spec: string, env: NodeJS.ProcessEnv, devices: VulkanDevice[]): GpuSelection {
  const where = `RELPO_GPU_SELECT=${spec}`;
  if (devices.length === 0) {
    throw new Error(`${where}: Mesa's device-select Vulkan layer listed no devices; it selects the device (Debian/Ubuntu: apt-get install mesa-vulkan-drivers; NODEVICE_SELECT=1 turns it off)`);
  }
  const local = localRankFromEnv(env) ?? { rank: 0, source: 'no launcher' };
  const as = `local rank ${local.rank} (${local.source})`;
  let device: VulkanDevice | undefined;
  if (spec === 'local-rank') {
    const gpus = devices.filter((d) => d.type !== 'CPU');
    const pool = gpus.length > 0 ? gpus : devices;
    device = pool[local.rank];
    if (!device) throw new Error(`${where}: ${as}, but this node has ${pool.length} device(s) to choose from:\n${listed(devices)}\nlaunch at most ${pool.length} rank(s) per node, or name each rank's device in a list`);
  } else {
    const items = spec.split(',').map((s) => s.trim());
    const item = items[local.rank];
    if (!item) throw new Error(`${where}: ${as}, but the list names ${items.length} device(s), one per local rank`);
    const pci = /^(?:pci-)?([0-9a-f]{4})[:_]([0-9a-f]{2})[:_]([0-9a-f]{2})[._]([0-9a-f])$/i.exec(item);
    const matches = pci
      ? devices.filter((d) => d.pci === `${pci[1]}:${pci[2]}:${pci[3]}.${pci[4]}`.toLowerCase())
      : /^[0-9a-f]+:[0-9a-f]+$/i.test(item)
        ? devices.filter((d) => d.id === item.toLowerCase().replace(/\b0+(?=[0-9a-f])/g, ''))
        : undefined;
    if (!matches) throw new Error(`${where}: '${item}' (${as}) is neither a PCI address (0000:01:00.0) nor vendor:device (10de:2330)`);
    if (matches.length === 0) throw new Error(`${where}: no device ${item} (${as}) on this node; the devices:\n${listed(devices)}`);
    // The layer keeps the last device with a vendor:device; identical GPUs need their PCI addresses.
    if (matches.length > 1) {
      throw new Error(`${where}: ${item} (${as}) names ${matches.length} identical devices; name one by its PCI address:\n${listed(matches)}`);
    }
    device = matches[0];
  }
  // Without PCI addresses the layer knows devices by vendor:device alone, and keeps the last of a kind.
  const twins = devices.filter((d) => d.id === device!.id);
  if (!device.pci && twins.length > 1) {
    throw new Error(`${where}: ${as} is device ${device.index}, but devices ${twins.map((d) => d.index).join(', ')} are all ${device.id} and their driver reports no PCI address, so Mesa's device-select layer cannot tell them apart:\n${listed(devices)}`);
  }
  const tag = tagOf(device);
  // `!` exposes the chosen device alone; FORCE_DEFAULT_DEVICE does the same in Mesa versions without it.
  const vars: Record<string, string> = device.pci ? { DRI_PRIME: `${tag}!` } : { MESA_VK_DEVICE_SELECT: `${tag}!` };
  vars.MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE = '1';
  const named = [device.id, device.pci, `"${device.name}"`].filter(Boolean).join(' ');
  return { device, env: vars, summary: `${as}: Vulkan device ${device.index}, ${named} (${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ')})` };
}

/** The `webgpu` package's entry as a file URL, resolved from here as `import('webgpu')` is. */
async function webgpuModuleUrl(): Promise<string> {
  const [{ createRequire }, { pathToFileURL }] = await Promise.all([import('node:module'), import('node:url')]);
  return pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
}

/**
 * The Vulkan devices on this machine, from the layer's own list: a child Node process opens Dawn
 * with MESA_VK_DEVICE_SELECT=list, and the layer prints the devices and exits as the adapter is asked.
 */
export async function listVulkanDevices(webgpuModule?: string): Promise<VulkanDevice[]> {
  const { spawnSync } = await import('node:child_process');
  webgpuModule ??= await webgpuModuleUrl();
  const script = `const d = await import(${JSON.stringify(webgpuModule)}); await d.create([]).requestAdapter();`;
  const env: NodeJS.ProcessEnv = { ...process.env, MESA_VK_DEVICE_SELECT: 'list' };
  for (const k of ['DRI_PRIME', 'MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE', 'NODEVICE_SELECT']) delete env[k];
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 60_000 });
  return parseDeviceList(`${child.stderr}\n${child.stdout}`);
}

/**
 * With RELPO_GPU_SELECT set, picks this process's device and sets the layer's variables in
 * process.env; call before Dawn starts (the layer reads them once, when the Vulkan instance is made).
 */
export async function applyGpuSelection(env: NodeJS.ProcessEnv = process.env): Promise<GpuSelection | null> {
  const spec = env.RELPO_GPU_SELECT?.trim();
  if (!spec) return null;
  const selection = selectGpu(spec, env, await listVulkanDevices());
  delete env.MESA_VK_DEVICE_SELECT;
  delete env.DRI_PRIME;
  Object.assign(env, selection.env);
  return selection;
}
