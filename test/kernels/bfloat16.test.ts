// bfloat16 storage (src/kernels/bfloat16): the rounding against PyTorch's bit for bit on both
// devices, exact widening, the frozen-weight matmul, and a LoRA model whose base is kept in bfloat16.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { bothDevices, cpu, randomValues, values } from '../helpers/devices.js';
import { TINY_LLAMA, checkStoredWeightProduct, loraRun, widenFrozenMatrices } from '../helpers/frozen-weights.js';

const golden = JSON.parse(readFileSync(new URL('../../../test/kernels/golden/bfloat16.json', import.meta.url), 'utf8')) as { inputs_f32_bits: number[]; bfloat16_bits: number[] };
const inputs = Float32Array.from(new Float32Array(Uint32Array.from(golden.inputs_f32_bits).buffer));
const isNaNBits = (b: number) => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;

test('toBfloat16 rounds as torch does, bit for bit, on both devices (ties to even, subnormals, overflow, NaN)', async (t) => {
  for (const device of await bothDevices(t)) {
    // 229: an odd count, so the last 32-bit word holds one element.
    for (const n of [inputs.length, inputs.length - 1]) {
      const x = r.tensor(inputs.subarray(0, n), [n], { device });
      const y = r.toBfloat16(x);
      t.is(y.dtype, 'bfloat16');
      const bits = (await device.read(y.storage)).subarray(0, n) as Uint16Array;
      for (let i = 0; i < n; i++) {
        const want = golden.bfloat16_bits[i];
        if (isNaNBits(want)) t.true(isNaNBits(bits[i]), `${device.kind} ${i}: NaN`);
        else if (bits[i] !== want) t.fail(`${device.kind} element ${i} (${inputs[i]}): 0x${bits[i].toString(16)} vs torch's 0x${want.toString(16)}`);
      }
      // The JavaScript rounding (tensor() with dtype bfloat16) agrees with the kernel.
      const host = Array.from(inputs.subarray(0, n), (v) => r.bfloat16Bits(v));
      t.deepEqual(Array.from(bits).filter((_, i) => !isNaNBits(host[i])), host.filter((b) => !isNaNBits(b)));
      x.dispose();
      y.dispose();
    }
  }
});

test('fromBfloat16 widens exactly; bfloat16 → float32 → bfloat16 is the identity; data() reads widened values', async (t) => {
  const patterns = Array.from({ length: 1001 }, (_, i) => (i * 65.537) & 0xffff).filter((b) => !isNaNBits(b));
  for (const device of await bothDevices(t)) {
    const b = r.tensor(patterns.map(r.bfloat16Value), [patterns.length], { device, dtype: 'bfloat16' });
    const wide = r.fromBfloat16(b);
    const want = patterns.map(r.bfloat16Value);
    t.deepEqual(Array.from(await values(wide)), want);
    t.deepEqual(Array.from(await b.data()), want);
    const back = r.toBfloat16(wide);
    t.deepEqual(Array.from((await device.read(back.storage)).subarray(0, patterns.length)), patterns);
    // cast() goes through the same kernels.
    t.deepEqual(Array.from(await values(r.cast(b, 'float32'))), want);
    for (const x of [b, wide, back]) x.dispose();
  }
});

test('bfloat16 tensors are storage: other ops refuse them, and they take no gradient', (t) => {
  const b = r.tensor([1, 2], [2], { device: cpu, dtype: 'bfloat16' });
  t.throws(() => r.add(b, b), { message: /op 'add' does not take bfloat16 tensors/ });
  t.throws(() => { b.requiresGrad = true; }, { message: /only float tensors can require grad/ });
  b.dispose();
});

test.serial('matmulBfloat16Weight: the product and dx of the widened weight; the graph keeps no float32 copy', async (t) => {
  for (const device of await bothDevices(t)) {
    await checkStoredWeightProduct(t, device, [9, 12, 7], (w) => {
      const b = r.toBfloat16(w);
      w.dispose();
      return { product: (x, opts) => r.matmulBfloat16Weight(x, b, opts), widened: () => r.fromBfloat16(b), dispose: () => b.dispose() };
    });
    // Untransposed: x [M, K] @ w [K, N]. Five rows: the skinny kernel reads w as stored; on WebGPU
    // its sum order is not the naive product's (test/kernels/matmul-skinny.test.ts).
    const x = r.tensor(randomValues(5 * 12, 2), [5, 12], { device });
    const w2 = r.toBfloat16(r.tensor(randomValues(12 * 7, 4), [12, 7], { device }));
    const y2 = r.matmulBfloat16Weight(x, w2);
    const [got, want] = [Array.from(await values(y2)), Array.from(await values(r.matmul(x, r.fromBfloat16(w2))))];
    if (device.kind === 'cpu') t.deepEqual(got, want);
    else t.true(got.every((g, i) => Math.abs(g - want[i]) <= 1e-5 * Math.max(...want.map(Math.abs))), `${got} against ${want}`);
    for (const z of [x, w2, y2]) z.dispose();
  }
});

test.serial('a LoRA model with its base in bfloat16 computes what float32 weights rounded to bfloat16 compute, in less memory, and merges', async (t) => {
  for (const device of await bothDevices(t)) {
    const stored = await loraRun(device, (m) => t.is(r.storeFrozenWeightsInBfloat16(m).tensors, 7 * 2 + 1));
    // Independent path: the same rounding, kept in float32 (an ordinary model, ordinary matmuls).
    const rounded = await loraRun(device, (m) => widenFrozenMatrices(m, (w) => r.fromBfloat16(r.toBfloat16(w))));
    t.is(stored.loss, rounded.loss, `${device.kind}: the same loss, bit for bit`);
    t.deepEqual(stored.grads, rounded.grads, `${device.kind}: the same adapter gradients`);
    const c = TINY_LLAMA, d = c.hidden_size, kv = (d / c.num_attention_heads) * c.num_key_value_heads;
    const frozenMatrices = c.num_hidden_layers * (2 * d * d + 2 * d * kv + 3 * d * c.intermediate_size) + c.vocab_size * d; // + lm_head
    t.is(rounded.weightBytes - stored.weightBytes, 2 * frozenMatrices);
    // mergeLora widens the base to float32 and folds the adapters in: the same logits.
    t.true(stored.mergeError < 1e-5, `merged logits differ by ${stored.mergeError}`);
  }
});

test('a bfloat16 parameter saves as BF16 and loads back bit for bit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-bf16-'));
  const w = r.tensor([1.5, -2.25, 3.140625, 1e-3, 65280], [5], { device: cpu, dtype: 'bfloat16' });
  await r.saveSafetensors(join(dir, 'w.safetensors'), { w });
  const back = await r.loadSafetensors(join(dir, 'w.safetensors'), { device: cpu });
  t.deepEqual(Array.from(await back.get('w')!.data()), Array.from(await w.data()));
  const bf = r.cast(back.get('w')!, 'bfloat16');
  t.deepEqual(Array.from(await cpu.read(bf.storage)), Array.from(await cpu.read(w.storage)));
  for (const x of [w, bf, ...back.values()]) x.dispose();
});

test.after.always(async () => {
  await r.shutdown();
});
