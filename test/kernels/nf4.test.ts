// NF4 (src/kernels/nf4): quantization against a PyTorch transcription bit for bit on both devices,
// dequantization, the frozen-weight matmul, and a QLoRA model (LoRA over an NF4 base).
import test from 'ava';
import { readFileSync } from 'node:fs';
import * as r from '../../src/index.js';
import { bothDevices, cpu } from '../helpers/devices.js';
import { checkStoredWeightProduct, loraRun, widenFrozenMatrices } from '../helpers/frozen-weights.js';

interface Case { n: number; inputs_f32_bits: number[]; codes: number[]; absmax_f32_bits: number[] }
const golden = JSON.parse(readFileSync(new URL('../../../test/kernels/golden/nf4.json', import.meta.url), 'utf8')) as { levels: number[]; cases: Case[] };
const f32 = (bits: number[]) => new Float32Array(Uint32Array.from(bits).buffer);

test('the NF4 levels are the ones the golden script rebuilt from normal quantiles', (t) => {
  t.deepEqual([...r.NF4_LEVELS], golden.levels.map(Math.fround));
});

test('quantizeNf4 gives the PyTorch transcription\'s codes and block maxima, bit for bit, on both devices; dequantizeNf4 gives level · absmax', async (t) => {
  for (const device of await bothDevices(t)) {
    for (const c of golden.cases) {
      const x = r.tensor(f32(c.inputs_f32_bits), [c.n], { device });
      const q = r.quantizeNf4(x);
      const words = await q.codes.data();
      const codes = Array.from({ length: c.n }, (_, i) => (words[i >> 3] >>> (4 * (i & 7))) & 15);
      t.deepEqual(codes, c.codes, `${device.kind} n ${c.n}: codes`);
      t.deepEqual(Array.from(await q.absmax.data()), Array.from(f32(c.absmax_f32_bits)), `${device.kind} n ${c.n}: absmax`);
      const back = r.dequantizeNf4(q);
      const absmax = f32(c.absmax_f32_bits);
      t.deepEqual(Array.from(await back.data()), c.codes.map((k, i) => Math.fround(r.NF4_LEVELS[k] * absmax[Math.floor(i / 64)])), `${device.kind} n ${c.n}: dequantized`);
      for (const z of [x, q.codes, q.absmax, back]) z.dispose();
    }
  }
});

test.serial('matmulNf4Weight: the product and dx of the dequantized weight; the graph keeps codes, not a float copy', async (t) => {
  for (const device of await bothDevices(t)) {
    await checkStoredWeightProduct(t, device, [9, 40, 9], (w) => {
      const q = r.quantizeNf4(w);
      w.dispose();
      return { product: (x, opts) => r.matmulNf4Weight(x, q, opts), widened: () => r.dequantizeNf4(q), dispose: () => [q.codes, q.absmax].forEach((z) => z.dispose()) };
    });
  }
});

test.serial('QLoRA: a LoRA model over an NF4 base computes what float32 weights holding the dequantized values compute, and merges', async (t) => {
  for (const device of await bothDevices(t)) {
    const q = await loraRun(device, (m) => t.is(r.storeFrozenWeightsInNf4(m).tensors, 7 * 2 + 1));
    // Independent path: an ordinary float32 model whose frozen matrices hold the dequantized values.
    const f = await loraRun(device, (m) => widenFrozenMatrices(m, (w) => r.dequantizeNf4(r.quantizeNf4(w))));
    t.is(q.loss, f.loss, `${device.kind}: the same loss, bit for bit`);
    t.deepEqual(q.grads, f.grads, `${device.kind}: the same adapter gradients`);
    // mergeLora dequantizes the base and folds the adapters in: the same logits.
    t.true(q.mergeError < 1e-5, `merged logits differ by ${q.mergeError}`);
  }
});

test('an NF4 weight is frozen storage: 4.5 bits per value, no gradient, and the float weight is gone', (t) => {
  const lin = new r.Linear(128, 64, { device: cpu, seed: 1 });
  lin.weight.requiresGrad = false;
  lin.quantizeWeightToNf4();
  const params = lin.namedParameters();
  t.deepEqual([...params.keys()], ['weight_nf4_codes', 'weight_nf4_absmax']);
  t.is(params.get('weight_nf4_codes')!.size * 4 + params.get('weight_nf4_absmax')!.size * 4, (128 * 64 * 4.5) / 8);
  t.false(params.get('weight_nf4_absmax')!.requiresGrad);
  t.throws(() => lin.weight, { message: /held in NF4/ });
  const trainable = new r.Linear(8, 8, { device: cpu });
  t.throws(() => trainable.quantizeWeightToNf4(), { message: /only a frozen weight/ });
  lin.dispose();
  trainable.dispose();
});

test.after.always(async () => {
  await r.shutdown();
});
