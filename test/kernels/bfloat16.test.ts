// bfloat16 storage (src/kernels/bfloat16): the rounding against PyTorch's bit for bit on both
// devices, exact widening, the frozen-weight matmul, and a LoRA model whose base is kept in bfloat16.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

const golden = JSON.parse(readFileSync(new URL('../../../test/kernels/golden/bfloat16.json', import.meta.url), 'utf8')) as { inputs_f32_bits: number[]; bfloat16_bits: number[] };
const inputs = Float32Array.from(new Float32Array(Uint32Array.from(golden.inputs_f32_bits).buffer));
const isNaNBits = (b: number) => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;

async function devices(t: Parameters<typeof gpuOrSkip>[0]): Promise<r.Device[]> {
  const gpu = await gpuOrSkip(t);
  return gpu ? [cpu, gpu] : [cpu];
}

test('toBfloat16 rounds as torch does, bit for bit, on both devices (ties to even, subnormals, overflow, NaN)', async (t) => {
  for (const device of await devices(t)) {
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
  for (const device of await devices(t)) {
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
  for (const device of await devices(t)) {
    const [M, K, N] = [5, 12, 7];
    const w = r.toBfloat16(r.tensor(randomValues(N * K, 1), [N, K], { device }));
    const x = r.tensor(randomValues(2 * M * K, 2), [2, M, K], { device, requiresGrad: true });
    const dy = r.tensor(randomValues(2 * M * N, 3), [2, M, N], { device });
    // Reference: an ordinary matmul with the weight widened beforehand.
    const wide = r.fromBfloat16(w);
    const xr = r.tensor(randomValues(2 * M * K, 2), [2, M, K], { device, requiresGrad: true });
    const yr = r.matmul(xr, wide, { transposeB: true });
    r.backward(yr, dy);
    const before = device.memory().liveBytes;
    const y = r.tidy(() => r.matmulBfloat16Weight(x, w, { transposeB: true }));
    // WebGPU counts whole pooled buffers (size classes); the CPU device counts elements.
    const yBytes = device.kind === 'webgpu' ? (y.storage.handle as { size: number }).size : 4 * 2 * M * N;
    t.is(device.memory().liveBytes - before, yBytes, `${device.kind}: only y is new, the graph holds w itself`);
    t.deepEqual(Array.from(await values(y)), Array.from(await values(yr)));
    r.backward(y, dy);
    t.deepEqual(Array.from(await values(x.grad!)), Array.from(await values(xr.grad!)));
    // Untransposed: x [M, K] @ w [K, N].
    const w2 = r.toBfloat16(r.tensor(randomValues(K * N, 4), [K, N], { device }));
    const y2 = r.matmulBfloat16Weight(r.narrow(x, 0, 0, 1), w2);
    t.deepEqual(Array.from(await values(y2)), Array.from(await values(r.matmul(r.narrow(x, 0, 0, 1), r.fromBfloat16(w2)))));
    for (const z of [w, x, dy, wide, xr, yr, y, w2, y2]) z.dispose();
  }
});

const TINY = { vocab_size: 48, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 };
const LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

async function loraLossAndGrads(device: r.Device, bf16: 'store' | 'rounded-f32'): Promise<{ loss: number; grads: number[][]; weightBytes: number }> {
  const model = new r.LlamaForCausalLM(TINY, { device, seed: 4 });
  r.applyLora(model, { r: 2, targetModules: LINEAR, seed: 1 });
  // LoRA B starts at zero: give it values so the adapters change the output.
  for (const [name, p] of model.namedParameters()) if (name.endsWith('lora_B.weight')) model.swapParameter(name, r.tensor(randomValues(p.size, p.size, -0.1, 0.1), p.shape, { device }));
  if (bf16 === 'store') {
    const c = r.storeFrozenWeightsInBfloat16(model);
    if (c.tensors !== 7 * 2 + 1) throw new Error(`converted ${c.tensors} weights`);
  } else {
    // Independent path: the same rounding, kept in float32 (an ordinary model, ordinary matmuls).
    for (const [name, p] of model.namedParameters()) {
      if (p.requiresGrad || p.rank !== 2 || name.includes('embed_tokens')) continue;
      model.swapParameter(name, r.tidy(() => r.fromBfloat16(r.toBfloat16(p))));
    }
  }
  const weightBytes = [...model.namedParameters().values()].reduce((s, p) => s + p.size * (p.dtype === 'bfloat16' ? 2 : 4), 0);
  const ids = r.tensor(Int32Array.from({ length: 14 }, (_, i) => (i * 7 + 3) % TINY.vocab_size), [2, 7], { device, dtype: 'int32' });
  const targets = r.tensor(Int32Array.from({ length: 14 }, (_, i) => (i * 5 + 1) % TINY.vocab_size), [2, 7], { device, dtype: 'int32' });
  const loss = r.tidy(() => {
    const l = r.neg(r.mean(r.tokenLogprobs(model.forward(ids), targets)));
    l.backward();
    return l;
  });
  const grads = [];
  for (const [name, p] of model.namedParameters()) if (name.includes('lora_')) grads.push(Array.from(await values(p.grad!)));
  const out = { loss: (await values(loss))[0], grads, weightBytes };
  for (const x of [loss, ids, targets]) x.dispose();
  model.dispose();
  return out;
}

test.serial('a LoRA model with its base in bfloat16 computes what float32 weights rounded to bfloat16 compute, in less memory', async (t) => {
  for (const device of await devices(t)) {
    const stored = await loraLossAndGrads(device, 'store');
    const rounded = await loraLossAndGrads(device, 'rounded-f32');
    t.is(stored.loss, rounded.loss, `${device.kind}: the same loss, bit for bit`);
    t.deepEqual(stored.grads, rounded.grads, `${device.kind}: the same adapter gradients`);
    const c = TINY, d = c.hidden_size, kv = (d / c.num_attention_heads) * c.num_key_value_heads;
    const frozenMatrices = c.num_hidden_layers * (2 * d * d + 2 * d * kv + 3 * d * c.intermediate_size) + c.vocab_size * d; // + lm_head
    t.is(rounded.weightBytes - stored.weightBytes, 2 * frozenMatrices);
  }
});

test('mergeLora folds adapters into a bfloat16 base as float32: the merged model computes base (widened) + adapter', async (t) => {
  const device = cpu;
  const model = new r.LlamaForCausalLM(TINY, { device, seed: 4 });
  r.applyLora(model, { r: 2, targetModules: ['q_proj', 'down_proj'], seed: 1 });
  for (const [name, p] of model.namedParameters()) if (name.endsWith('lora_B.weight')) model.swapParameter(name, r.tensor(randomValues(p.size, 9, -0.1, 0.1), p.shape, { device }));
  r.storeFrozenWeightsInBfloat16(model);
  const ids = r.tensor(Int32Array.from({ length: 7 }, (_, i) => i + 1), [1, 7], { device, dtype: 'int32' });
  const before = await values(r.noGrad(() => model.forward(ids)));
  r.mergeLora(model);
  t.true([...model.namedParameters().values()].every((p) => p.dtype === 'float32' && p.requiresGrad));
  const after = await values(r.noGrad(() => model.forward(ids)));
  const err = Math.max(...before.map((v, i) => Math.abs(v - after[i])));
  t.true(err < 1e-5, `merged logits differ by ${err}`);
  ids.dispose();
  model.dispose();
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
