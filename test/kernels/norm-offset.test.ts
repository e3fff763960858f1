// The RMSNorm kernels' offset (Gemma's 1 + w): one launch, the bits of add(w, offset) → rmsNorm.
import test from 'ava';
import * as r from '../../src/index.js';
import { rmsNorm } from '../../src/kernels/norm/index.js';
import { bothDevices, cpu, randomValues, values } from '../helpers/devices.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const SHAPES = [[1], [3, 7], [2, 3, 33], [4, 577], [2, 2049]];

test.after.always(async () => {
  await r.shutdown();
});

/** CPU in float64 and float32, WebGPU in float32 (where there is one). */
async function cases(t: Parameters<typeof bothDevices>[0]): Promise<[r.Device, 'float32' | 'float64'][]> {
  return (await bothDevices(t)).flatMap((d): [r.Device, 'float32' | 'float64'][] => (d.kind === 'cpu' ? [[d, 'float64'], [d, 'float32']] : [[d, 'float32']]));
}

/**
 * Weights in [-1, 1] (float32-representable): w + 1 is inexact in float32 for most of them, so the
 * test sees whether the kernel rounds the sum as the add kernel does.
 */
function make(device: r.Device, dtype: 'float32' | 'float64', seed: number, shape: number[], requiresGrad = false): r.Tensor {
  return r.tensor(randomValues(size(shape), seed).map(Math.fround), shape, { device, dtype, requiresGrad });
}

async function grads(ts: r.Tensor[]): Promise<number[][]> {
  return Promise.all(ts.map((z) => values(z.grad!)));
}

test('rmsNorm with an offset equals add(w, offset) then rmsNorm bit for bit: values, dx and dw', async (t) => {
  for (const [device, dtype] of await cases(t)) {
    for (const [k, shape] of SHAPES.entries()) {
      for (const offset of [1, -0.375]) {
        const n = shape[shape.length - 1];
        const what = `${device.kind} ${dtype} [${shape}] offset ${offset}`;
        const [x, w, c] = [make(device, dtype, 10 + k, shape, true), make(device, dtype, 20 + k, [n], true), make(device, dtype, 30 + k, shape)];
        const [x2, w2] = [make(device, dtype, 10 + k, shape, true), make(device, dtype, 20 + k, [n], true)];
        const y = rmsNorm(x, w, 1e-6, offset);
        const want = rmsNorm(x2, r.add(w2, offset), 1e-6);
        t.deepEqual(await values(y), await values(want), `${what}: y`);
        r.backward(r.sum(r.mul(y, c)));
        r.backward(r.sum(r.mul(want, c)));
        t.deepEqual(await grads([x, w]), await grads([x2, w2]), `${what}: dx, dw`);
        for (const z of [x, w, c, x2, w2, y, want]) z.dispose();
      }
    }
  }
});

test('addRmsNorm with an offset equals add, add(w, offset), rmsNorm bit for bit: the fused kernel, and gradients of x, residual, w', async (t) => {
  for (const [device, dtype] of await cases(t)) {
    for (const [k, shape] of SHAPES.entries()) {
      const n = shape[shape.length - 1];
      const what = `${device.kind} ${dtype} [${shape}]`;
      const [x, res, w] = [make(device, dtype, 40 + k, shape), make(device, dtype, 50 + k, shape), make(device, dtype, 60 + k, [n])];
      const s0 = r.add(x, res);
      const y0 = rmsNorm(s0, r.add(w, 1), 1e-5);
      const [s, y] = r.noGrad(() => r.addRmsNorm(x, res, w, 1e-5, 1));
      t.falsy(y.node, 'one kernel, no graph');
      t.deepEqual(await values(s), await values(s0), `${what}: the sum`);
      t.deepEqual(await values(y), await values(y0), `${what}: the norm`);
      // Recorded: the two ops, the offset in the norm's kernel.
      const c = make(device, dtype, 70 + k, shape);
      const ins = [make(device, dtype, 40 + k, shape, true), make(device, dtype, 50 + k, shape, true), make(device, dtype, 60 + k, [n], true)];
      const ref = [make(device, dtype, 40 + k, shape, true), make(device, dtype, 50 + k, shape, true), make(device, dtype, 60 + k, [n], true)];
      const [sg, yg] = r.addRmsNorm(ins[0], ins[1], ins[2], 1e-5, 1);
      const sr = r.add(ref[0], ref[1]);
      const yr = rmsNorm(sr, r.add(ref[2], 1), 1e-5);
      t.deepEqual(await values(yg), await values(y0), `${what}: the norm, recorded`);
      r.backward(r.sum(r.add(r.mul(yg, c), sg)));
      r.backward(r.sum(r.add(r.mul(yr, c), sr)));
      t.deepEqual(await grads(ins), await grads(ref), `${what}: dx, d residual, dw`);
      for (const z of [x, res, w, s0, y0, s, y, c, ...ins, ...ref, sg, yg, sr, yr]) z.dispose();
    }
  }
});

test('gradcheck in float64: rmsNorm and addRmsNorm with an offset', async (t) => {
  for (const [k, shape] of [[5], [3, 7], [2, 3, 4]].entries()) {
    const n = shape[shape.length - 1];
    const [x, res, w] = [make(cpu, 'float64', 80 + k, shape, true), make(cpu, 'float64', 90 + k, shape, true), make(cpu, 'float64', 100 + k, [n], true)];
    const a = await r.gradcheck((xi, wi) => rmsNorm(xi, wi, 1e-6, 1), [x, w]);
    t.true(a.ok, `rmsNorm [${shape}]: ${JSON.stringify(a)}`);
    const b = await r.gradcheck((xi, ri, wi) => r.mul(...r.addRmsNorm(xi, ri, wi, 1e-6, 0.5)), [x, res, w]);
    t.true(b.ok, `addRmsNorm [${shape}]: ${JSON.stringify(b)}`);
  }
});

test('a non-finite offset is refused naming it', (t) => {
  const [x, w] = [r.ones([2, 4], { device: cpu }), r.zeros([4], { device: cpu })];
  t.throws(() => rmsNorm(x, w, 1e-6, NaN), { message: /rmsNorm\(\): offset must be a finite number, got NaN/ });
  t.throws(() => r.addRmsNorm(x, x, w, 1e-6, Infinity), { message: /addRmsNorm\(\): offset must be a finite number, got Infinity/ });
});
