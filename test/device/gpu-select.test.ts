// RELPO_GPU_SELECT: the device-select layer's list parsed (its print format, from Mesa's
// src/vulkan/device-select-layer), each local rank's device chosen and named to the layer, bad
// names refused listing the devices; on this machine (lavapipe), that a variable set inside Node
// before Dawn starts reaches the layer, and that a selection opens the adapter or fails clearly.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listVulkanDevices, parseDeviceList, selectGpu, type VulkanDevice } from '../../src/device/webgpu/gpu-select.js';

// The layer's lines: `  GPU %d: %x:%x "%s" %s` and, when the driver has VK_EXT_pci_bus_info, ` %04x:%02x:%02x.%x`.
const EIGHT_H100 = `selectable devices:\n${Array.from({ length: 8 }, (_, i) => `  GPU ${i}: 10de:2330 "NVIDIA H100 80GB HBM3" discrete GPU 0000:${(0x18 + 0x10 * i).toString(16)}:00.0`).join('\n')}\n  GPU 8: 10005:0 "llvmpipe (LLVM 15.0.6, 256 bits)" CPU\n`;
const LAVAPIPE = 'selectable devices:\n  GPU 0: 10005:0 "llvmpipe (LLVM 15.0.6, 256 bits)" CPU\n';

const rank = (r: number) => ({ OMPI_COMM_WORLD_LOCAL_RANK: String(r) });

test('parseDeviceList: the layer\'s lines, with and without a PCI address', (t) => {
  const eight = parseDeviceList(EIGHT_H100);
  t.is(eight.length, 9);
  t.deepEqual(eight[1], { index: 1, id: '10de:2330', name: 'NVIDIA H100 80GB HBM3', type: 'discrete GPU', pci: '0000:28:00.0' });
  t.deepEqual(parseDeviceList(LAVAPIPE), [{ index: 0, id: '10005:0', name: 'llvmpipe (LLVM 15.0.6, 256 bits)', type: 'CPU' }]);
  t.deepEqual(parseDeviceList('no layer here\n'), []);
});

test('selectGpu local-rank: identical GPUs told apart by PCI address (DRI_PRIME tag, that device alone), the CPU device left out', (t) => {
  const devices = parseDeviceList(EIGHT_H100);
  const picked = [0, 1, 7].map((r) => selectGpu('local-rank', rank(r), devices));
  t.deepEqual(picked.map((p) => p.device.index), [0, 1, 7]);
  t.deepEqual(picked[1].env, { DRI_PRIME: 'pci-0000_28_00_0!', MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' });
  t.is(picked[1].summary, 'local rank 1 (OMPI_COMM_WORLD_LOCAL_RANK): Vulkan device 1, 10de:2330 0000:28:00.0 "NVIDIA H100 80GB HBM3" (DRI_PRIME=pci-0000_28_00_0! MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1)');
  t.deepEqual(selectGpu('local-rank', { MPI_LOCALRANKID: '2' }, devices).device.pci, '0000:38:00.0', "MPICH's local rank");
  t.deepEqual(selectGpu('local-rank', { SLURM_LOCALID: '3' }, devices).device.pci, '0000:48:00.0', "Slurm's local rank");
  const e = t.throws(() => selectGpu('local-rank', rank(8), devices));
  t.regex(e!.message, /RELPO_GPU_SELECT=local-rank: local rank 8 \(OMPI_COMM_WORLD_LOCAL_RANK\), but this node has 8 device\(s\)[\s\S]*launch at most 8 rank\(s\) per node/);
});

test('selectGpu with a list: one item per local rank, by PCI address or vendor:device; a missing or ambiguous device is an error listing them', (t) => {
  const devices = parseDeviceList(EIGHT_H100);
  t.is(selectGpu('0000:58:00.0,pci-0000_18_00_0', rank(1), devices).device.index, 0);
  t.is(selectGpu('0000:58:00.0,pci-0000_18_00_0', rank(0), devices).device.index, 4);
  const cpu = selectGpu('10005:0000', rank(0), devices);
  t.deepEqual(cpu.env, { MESA_VK_DEVICE_SELECT: '10005:0!', MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' }, 'no PCI address: vendor:device, leading zeros as the layer prints them');
  t.regex(t.throws(() => selectGpu('10de:2330', rank(0), devices))!.message, /names 8 identical devices; name one by its PCI address/);
  t.regex(t.throws(() => selectGpu('0000:99:00.0', rank(0), devices))!.message, /no device 0000:99:00.0 \(local rank 0 \(OMPI_COMM_WORLD_LOCAL_RANK\)\) on this node; the devices:\n {2}0: 10de:2330 0000:18:00.0/);
  t.regex(t.throws(() => selectGpu('0000:18:00.0', rank(1), devices))!.message, /local rank 1 \(OMPI_COMM_WORLD_LOCAL_RANK\), but the list names 1 device/);
  t.regex(t.throws(() => selectGpu('gpu1', rank(0), devices))!.message, /'gpu1' .* is neither a PCI address/);
  t.regex(t.throws(() => selectGpu('local-rank', {}, []))!.message, /device-select Vulkan layer listed no devices/);
  // Two lavapipe drivers: identical, no PCI address, so the layer (which keeps the last of a vendor:device) cannot pick rank 0's.
  const twins: VulkanDevice[] = [0, 1].map((index) => ({ index, id: '10005:0', name: 'llvmpipe', type: 'CPU' }));
  t.regex(t.throws(() => selectGpu('local-rank', rank(0), twins))!.message, /devices 0, 1 are all 10005:0 and their driver reports no PCI address/);
});

// What follows runs Dawn in child processes: the layer's variables are process-wide and read once.
const webgpuModule = import.meta.resolve('webgpu');
const hasLayer = (await listVulkanDevices()).length > 0;
const layerTest = hasLayer || process.env.CI ? test : test.skip;
const layerNote = hasLayer ? '' : ' (skipped: no Mesa device-select layer or no Vulkan device)';

layerTest(`Mesa's device-select layer reads a variable that Node sets before Dawn starts; the devices listed${layerNote}`, (t) => {
  const script = `process.env.MESA_VK_DEVICE_SELECT = 'list'; const d = await import(${JSON.stringify(webgpuModule)}); await d.create([]).requestAdapter(); console.log('adapter asked, no list');`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  t.is(run.status, 0, run.stderr);
  t.regex(run.stderr, /selectable devices:\n {2}GPU 0: /, 'the layer listed the devices (and exited, as its list mode does)');
  t.notRegex(run.stdout, /no list/);
});

const SELECTING = fileURLToPath(new URL('./fixtures/gpu-select.js', import.meta.url));

layerTest(`RELPO_GPU_SELECT opens the named device's adapter, and a device that is not there is an error naming it${layerNote}`, async (t) => {
  const here = (await listVulkanDevices())[0];
  const dir = mkdtempSync(join(tmpdir(), 'relpo-gpu-select-'));
  try {
    const open = (select: string) => {
      const run = spawnSync(process.execPath, [SELECTING, dir], { encoding: 'utf8', env: { ...process.env, RELPO_GPU_SELECT: select } });
      return { run, result: run.status === 0 ? (JSON.parse(readFileSync(join(dir, 'select-0.json'), 'utf8')) as { adapter: string; env: Record<string, string> }) : undefined };
    };
    const ok = open(here.id);
    t.is(ok.run.status, 0, ok.run.stderr);
    t.regex(ok.result!.adapter, /^webgpu: /);
    t.is(ok.result!.env.MESA_VK_DEVICE_SELECT, `${here.id}!`);
    t.regex(ok.run.stderr, new RegExp(`relpo: RELPO_GPU_SELECT: local rank 0 \\(no launcher\\): Vulkan device 0, ${here.id}`));
    const absent = open('10de:2330');
    t.not(absent.run.status, 0);
    t.regex(absent.run.stderr, /RELPO_GPU_SELECT=10de:2330: no device 10de:2330 .* on this node; the devices:/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
