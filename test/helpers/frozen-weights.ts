// Shared checks for frozen weights held at low precision (bfloat16, NF4): the product with the
// stored weight against an ordinary matmul with the widened weight, and a LoRA model over such a
// base against the same model with float32 weights holding the widened values.
import type { ExecutionContext } from 'ava';
import * as r from '../../src/index.js';
import { randomValues, values } from './devices.js';

export interface StoredWeight {
  /** The weight as the product reads it (what the graph keeps). */
  product: (x: r.Tensor, opts: { transposeB: boolean }) => r.Tensor;
  /** The same values as an ordinary float32 tensor. */
  widened: () => r.Tensor;
  dispose: () => void;
}

/**
 * x [2, M, K] times a stored weight [N, K] (transposed): y and dx equal those of the ordinary matmul
 * with the widened weight, bit for bit, and the forward leaves nothing alive but y. 2·M must be over
 * 16 (the widening path; fewer rows take the skinny kernel, tested in matmul-skinny.test.ts).
 */
export async function checkStoredWeightProduct(t: ExecutionContext, device: r.Device, [M, K, N]: number[], store: (w: r.Tensor) => StoredWeight): Promise<void> {
  const w = store(r.tensor(randomValues(N * K, 1), [N, K], { device }));
  const x = r.tensor(randomValues(2 * M * K, 2), [2, M, K], { device, requiresGrad: true });
  const dy = r.tensor(randomValues(2 * M * N, 3), [2, M, N], { device });
  const wide = w.widened();
  const xr = r.tensor(randomValues(2 * M * K, 2), [2, M, K], { device, requiresGrad: true });
  const yr = r.matmul(xr, wide, { transposeB: true });
  r.backward(yr, dy);
  const before = device.memory().liveBytes;
  const y = r.tidy(() => w.product(x, { transposeB: true }));
  // WebGPU counts whole pooled buffers (size classes); the CPU device counts elements.
  const yBytes = device.kind === 'webgpu' ? (y.storage.handle as { size: number }).size : 4 * 2 * M * N;
  t.is(device.memory().liveBytes - before, yBytes, `${device.kind}: only y is new, the graph holds the stored weight itself`);
  t.deepEqual(Array.from(await values(y)), Array.from(await values(yr)));
  r.backward(y, dy);
  t.deepEqual(Array.from(await values(x.grad!)), Array.from(await values(xr.grad!)));
  for (const z of [x, dy, wide, xr, yr, y]) z.dispose();
  w.dispose();
}

export const TINY_LLAMA = { vocab_size: 48, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 };
const LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/**
 * A tiny LoRA model on all seven projections (B nonzero), `prepare`d (its base converted, or its
 * float32 weights replaced by widened values), one loss and backward: the loss, the adapters'
 * gradients, the logits, and after mergeLora the largest change of the logits.
 */
export async function loraRun(device: r.Device, prepare: (model: r.LlamaForCausalLM) => void): Promise<{ loss: number; grads: number[][]; weightBytes: number; mergeError: number }> {
  const model = new r.LlamaForCausalLM(TINY_LLAMA, { device, seed: 4 });
  r.applyLora(model, { r: 2, targetModules: LINEAR, seed: 1 });
  // LoRA B starts at zero: give it values so the adapters change the output.
  for (const [name, p] of model.namedParameters()) if (name.endsWith('lora_B.weight')) model.swapParameter(name, r.tensor(randomValues(p.size, p.size, -0.1, 0.1), p.shape, { device }));
  prepare(model);
  const weightBytes = [...model.namedParameters().values()].reduce((s, p) => s + p.size * (p.dtype === 'bfloat16' ? 2 : 4), 0);
  // 18 tokens: above the skinny kernel's 16 rows, so the stored products widen and match the
  // float32 ones bit for bit (test/kernels/matmul-skinny.test.ts covers the few-row path).
  const ids = r.tensor(Int32Array.from({ length: 18 }, (_, i) => (i * 7 + 3) % TINY_LLAMA.vocab_size), [2, 9], { device, dtype: 'int32' });
  const targets = r.tensor(Int32Array.from({ length: 18 }, (_, i) => (i * 5 + 1) % TINY_LLAMA.vocab_size), [2, 9], { device, dtype: 'int32' });
  const loss = r.tidy(() => {
    const l = r.neg(r.mean(r.tokenLogprobs(model.forward(ids), targets)));
    l.backward();
    return l;
  });
  const grads = [];
  for (const [name, p] of model.namedParameters()) if (name.includes('lora_')) grads.push(Array.from(await values(p.grad!)));
  const logits = r.noGrad(() => model.forward(ids));
  r.mergeLora(model);
  const merged = r.noGrad(() => model.forward(ids));
  const [a, b] = [await values(logits), await values(merged)];
  const mergeError = Math.max(...b.map((v, i) => Math.abs(v - a[i])));
  const out = { loss: (await values(loss))[0], grads, weightBytes, mergeError };
  for (const x of [loss, ids, targets, logits, merged]) x.dispose();
  model.dispose();
  return out;
}

/** Replaces every frozen matrix but the embedding by `widen(it)`, kept float32 (the independent path). */
export function widenFrozenMatrices(model: r.Module, widen: (w: r.Tensor) => r.Tensor): void {
  for (const [name, p] of model.namedParameters()) {
    if (p.requiresGrad || p.rank !== 2 || name.includes('embed_tokens')) continue;
    model.swapParameter(name, r.tidy(() => widen(p)));
  }
}
