// The launch path of the WebGPU device: params packed into one ring buffer per submit (bound at a
// dynamic offset), group-0 bind groups cached by buffer, layouts read off the WGSL.
import test from 'ava';
import * as r from '../../src/index.js';
import { moveParamsToGroup1, storageBindings } from '../../src/device/webgpu/bindings.js';
import { MAX_PARAMS_BYTES } from '../../src/device/webgpu/params-ring.js';
import { dispatchesPerSubmit } from '../../src/device/webgpu/webgpu-device.js';
import { cpu, gpuOrSkip, values } from '../helpers/devices.js';

const SHADER = `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0)  @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = a[0] + f32(params[0]); }`;

test('storageBindings reads each binding\'s access off the WGSL; a gap is an error', (t) => {
  t.deepEqual(storageBindings(SHADER), [false, false, true]);
  t.throws(() => storageBindings('@group(0) @binding(1) var<storage, read> a: array<f32>;'), { message: /not binding 0/ });
});

test('moveParamsToGroup1 moves the params declaration; a kernel given params without one is named', (t) => {
  const moved = moveParamsToGroup1(SHADER, 'k');
  t.regex(moved, /@group\(1\) @binding\(0\) var<storage, read> params:/);
  t.notRegex(moved, /@group\(0\) @binding\(0\)/);
  t.throws(() => moveParamsToGroup1('@group(0) @binding(0) var<storage, read> a: array<f32>;', 'my kernel'), { message: /kernel 'my kernel' was given params/ });
});

test('RELPO_DISPATCHES_PER_SUBMIT: default 16, integers 1-1024, anything else an error naming it', (t) => {
  t.is(dispatchesPerSubmit(undefined), 16);
  t.is(dispatchesPerSubmit(''), 16);
  t.is(dispatchesPerSubmit('64'), 64);
  for (const bad of ['0', '1025', '2.5', 'many']) t.throws(() => dispatchesPerSubmit(bad), { message: /RELPO_DISPATCHES_PER_SUBMIT must be an integer from 1 to 1024/ });
});

// Serial: the bind-group counters and pooled buffers are shared with tests running beside it.
test.serial('webgpu: 300 launches with different params in flight at once each read their own', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  // fill takes its value in params: 300 launches queued before any read-back span many submits,
  // each of which rewrites the one params buffer; each tensor must hold its own value.
  const xs = Array.from({ length: 300 }, (_, i) => r.full([5], i + 0.5, { device: gpu }));
  const got = await Promise.all(xs.map((x) => values(x)));
  got.forEach((v, i) => t.deepEqual(v, new Array(5).fill(i + 0.5), `launch ${i}`));
  // A broadcast of rank 6 has long params (sizes and two sets of strides).
  const a = r.randn([2, 1, 3, 1, 2, 3], { device: gpu }), b = r.randn([1, 2, 1, 2, 1, 3], { device: gpu });
  const sum = r.add(a, b);
  const want = r.add(r.tensor(await a.data(), a.shape, { device: cpu }), r.tensor(await b.data(), b.shape, { device: cpu }));
  t.deepEqual(await values(sum), await values(want));
  for (const x of [...xs, a, b, sum, want]) x.dispose();
});

test.serial('webgpu: a repeated launch on the same buffers reuses its bind group; trimming the pool drops them and results stay right', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const x = r.tensor([1, 2, 3], [3], { device: gpu }), y = r.tensor([10, 20, 30], [3], { device: gpu });
  const run = async () => {
    const z = r.add(x, y);
    const v = await values(z);
    z.dispose();
    return v;
  };
  await run();
  const before = gpu.bindGroupStats;
  for (let i = 0; i < 5; i++) t.deepEqual(await run(), [11, 22, 33]);
  const after = gpu.bindGroupStats;
  t.true(after.hits - before.hits >= 4, `hits ${before.hits} → ${after.hits}`);
  gpu.pool.trim();
  t.deepEqual(await run(), [11, 22, 33], 'after the pool destroyed its free buffers');
  for (const v of [x, y]) v.dispose();
});

test.serial('webgpu: params over the binding\'s size are an error naming the kernel', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const a = gpu.upload('float32', new Float32Array([1])), out = gpu.alloc('float32', 1);
  t.throws(() => gpu.dispatch({ name: 'too many params', code: SHADER, meta: new Uint32Array(MAX_PARAMS_BYTES / 4 + 1), inputs: [a], outputs: [out], workgroups: [1] }), {
    message: /params \(1028 bytes\) exceed the 1024 bytes/,
  });
  t.throws(() => gpu.dispatch({ name: 'one buffer short', code: SHADER, meta: new Uint32Array([1]), inputs: [], outputs: [out], workgroups: [1] }), {
    message: /kernel 'one buffer short' declares 2 storage buffers after params but was given 1/,
  });
  gpu.dispatch({ name: 'ok', code: SHADER, meta: new Uint32Array([41]), inputs: [a], outputs: [out], workgroups: [1] });
  t.deepEqual(Array.from(await gpu.read(out)), [42]);
  gpu.release(a);
  gpu.release(out);
});

test.after.always(async () => {
  await r.shutdown();
});
