// The data-parallel trainer on WebGPU under `mpirun -np 2` (test/distributed/fixtures/train.ts,
// rpo-webgpu): each rank opens its own adapter (lavapipe here), chosen per local rank by
// RELPO_GPU_SELECT, and the weights after 3 steps equal one process's at the same effective batch,
// float32, RPO in step scope (an 8 × 8 matrix over both ranks' rows). Slow on lavapipe (each
// process compiles every kernel): one loss only. RELPO_GPU_SELECT=local-rank with more ranks than
// devices stops the launch, naming the rank.
// Skipped without mpirun or the built addon (except under RELPO_REQUIRE_MPI=1), or without a
// WebGPU adapter (except under CI or RELPO_REQUIRE_WEBGPU=1).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { singleProcessCommunicator } from '../../src/distributed/index.js';
import { listVulkanDevices } from '../../src/device/webgpu/gpu-select.js';
import { gpuOrSkip } from '../helpers/devices.js';
import { mpiGate, runUnderMpi } from '../helpers/mpi.js';
import { trainRun, writePaired, type TrainResult } from './fixtures/train-setup.js';
import { normRel } from '../helpers/norm-relative.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/train.js', import.meta.url));
const { missing, mpiTest, note } = mpiGate();

interface RankResult extends TrainResult {
  adapter: string;
}

mpiTest(`mpirun -np 2 on WebGPU (float32): each rank opens its adapter; rpo in step scope gives one process's weights after 3 steps to 1e-6${note}`, async (t) => {
  if (missing) return void t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  if (!(await gpuOrSkip(t))) return void t.pass();
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-webgpu-'));
  try {
    const data = join(dir, 'data.jsonl');
    writePaired(data);
    // Both ranks on this machine's one device, each naming it (the list form, an item per local rank).
    const device = (await listVulkanDevices())[0];
    const env = { ...process.env, ...(device ? { RELPO_GPU_SELECT: `${device.id},${device.id}` } : {}) };
    const run = await runUnderMpi(2, FIXTURE, ['rpo-webgpu', data, dir], { timeoutMs: 290_000, env });
    t.is(run.status, 0, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
    if (device) for (const r of [0, 1]) t.regex(run.stderr, new RegExp(`relpo: RELPO_GPU_SELECT: local rank ${r} \\(OMPI_COMM_WORLD_LOCAL_RANK\\): Vulkan device ${device.index}, ${device.id}`));
    const [r0, r1] = [0, 1].map((r) => JSON.parse(readFileSync(join(dir, `rank-${r}.json`), 'utf8')) as RankResult);
    for (const r of [r0, r1]) t.regex(r.adapter, /^webgpu: /, 'each rank trained on its WebGPU adapter');
    t.deepEqual(r1.params, r0.params, 'the replicas are bit-identical (the summed gradients are rank 0\'s bits, broadcast)');
    t.deepEqual(r0.history.map((m) => [m['loss_rows/chosen'], m['loss_rows/rejected']]), [[8, 8], [8, 8], [8, 8]], "an 8 × 8 matrix over both ranks' rows");
    const one = await trainRun({ loss: 'rpo', data, webgpu: true, communicator: singleProcessCommunicator() });
    // One process adds the 4 micro-batches' gradients in order on the device; two ranks add 2 each,
    // then the two sums on the host: another order of float32 additions, a few ulps apart (measured
    // 3e-8 relative in the weights after 3 AdamW steps, 1.2e-7 at most in one weight).
    const rel = normRel(r0.params, one.params);
    t.true(rel <= 1e-6, `weights after 3 steps vs one process: ${rel.toExponential(2)}`);
    one.history.forEach((m, i) => t.true(Math.abs(r0.history[i].loss - m.loss) <= 1e-6, `step ${i + 1} loss: ${r0.history[i].loss} vs ${m.loss}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const SELECTING = fileURLToPath(new URL('../device/fixtures/gpu-select.js', import.meta.url));

mpiTest(`mpirun -np 2, RELPO_GPU_SELECT=local-rank on a node with one device: local rank 1 is refused by name${note}`, async (t) => {
  if (missing) return void t.fail(`RELPO_REQUIRE_MPI=1, but ${missing}`);
  const devices = await listVulkanDevices();
  if (devices.length !== 1) return void t.pass(`${devices.length} Vulkan devices here: this check needs exactly one`);
  const dir = mkdtempSync(join(tmpdir(), 'relpo-dp-select-'));
  try {
    const run = await runUnderMpi(2, SELECTING, [dir], { timeoutMs: 120_000, env: { ...process.env, RELPO_GPU_SELECT: 'local-rank' } });
    t.not(run.status, 0);
    t.regex(run.stderr, /RELPO_GPU_SELECT=local-rank: local rank 1 \(OMPI_COMM_WORLD_LOCAL_RANK\), but this node has 1 device\(s\) to choose from/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
