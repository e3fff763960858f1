// The graph's lifetime (src/autograd/graph.ts): a node keeps only what its backward rule saved;
// everything else is freed when the program disposes it; the graph goes when backward has run or
// when nothing can reach it any more. Memory is counted in buffers and bytes on the CPU device.
import test from 'ava';
import * as r from '../../src/index.js';
import { cpu, randomValues, values } from '../helpers/devices.js';
import { runOp } from '../../src/autograd/op.js';
import { measureMode, savedFloatsPerTokenLayer, TINY_SETUP } from '../../bench/activation-memory.js';

const live = () => cpu.memory().liveBuffers;
const bytes = () => cpu.memory().liveBytes;

test.serial('a tensor the rule saved survives its handle: exp keeps its output, backward still works', async (t) => {
  const x = r.tensor([0, 1, 2], [3], { device: cpu, requiresGrad: true });
  const y = r.exp(x);
  const loss = r.sum(y);
  y.dispose();
  loss.backward();
  assertNear(t, await values(x.grad!), [1, Math.E, Math.E ** 2]);
  loss.dispose();
  x.dispose();
});

test.serial('what no rule reads is freed when disposed, and backward passes through it', async (t) => {
  const x = r.tensor([1, 2, 3, 4], [4], { device: cpu, requiresGrad: true });
  const start = bytes();
  r.tidy(() => {
    const a = r.mul(x, 3); // saves the constant 3, not x or a
    const b = r.add(a, 1); // saves nothing
    const loss = r.sum(r.square(b)); // square saves b
    const before = bytes();
    a.dispose();
    t.is(bytes(), before - 16, "a's 4 floats are gone");
    b.dispose();
    t.is(bytes(), before - 16, "b is held by square's node");
    loss.backward();
  });
  // d/dx Σ (3x + 1)² = 6(3x + 1)
  t.deepEqual(await values(x.grad!), [24, 42, 60, 78]);
  t.is(bytes() - start, 16, 'only x.grad is left');
  x.dispose();
});

test.serial('a frozen weight times x keeps no copy of x (matmul saves the other operand only)', (t) => {
  const w = r.tensor(Array.from({ length: 64 }, (_, i) => i / 64), [8, 8], { device: cpu }); // frozen
  const x = r.tensor(Array.from({ length: 32 }, (_, i) => i), [4, 8], { device: cpu, requiresGrad: true });
  const h = r.mul(x, 2); // requires grad, not a leaf
  const y = r.matmul(h, w, { transposeB: true });
  const held = bytes();
  h.dispose();
  t.is(bytes(), held - 32 * 4);
  y.dispose();
  x.dispose();
  w.dispose();
});

test.serial('a graph nobody ran backward on goes with its last tensor, however deep', (t) => {
  const x = r.tensor([0.5], [1], { device: cpu, requiresGrad: true });
  const start = live();
  // Everything but y is disposed when the tidy ends; the graph holds each exp's output (its rule's
  // saved tensor) and each mul's constant.
  const y = r.tidy(() => {
    let h = x;
    for (let i = 0; i < 20000; i++) h = r.exp(r.mul(h, 0.5));
    return h;
  });
  t.is(live() - start, 2 * 20000, 'the saved tensors (y shares its memory with the last exp handle)');
  y.dispose();
  t.is(live(), start);
  t.is(y.node, null);
  x.dispose();
});

test.serial('backward may run outside the tidy() that built the graph (as in PyTorch)', async (t) => {
  const x = r.tensor([1, -2], [2], { device: cpu, requiresGrad: true });
  const start = live();
  const loss = r.tidy(() => r.sum(r.mul(r.tanh(x), r.sigmoid(x))));
  t.true(live() - start > 1, 'the graph holds what tanh and sigmoid saved');
  loss.backward();
  const xs = [1, -2];
  const expected = xs.map((v) => {
    const th = Math.tanh(v), sg = 1 / (1 + Math.exp(-v));
    return (1 - th * th) * sg + th * sg * (1 - sg);
  });
  assertNear(t, await values(x.grad!), expected);
  t.is(live() - start, 2, 'loss and x.grad: the graph let go of everything else');
  loss.dispose();
  x.dispose();
});

test.serial('a failing rule leaves nothing behind: the graph and the gradients in flight are freed', (t) => {
  const x = r.tensor([1, 2], [2], { device: cpu, requiresGrad: true });
  const start = live();
  const bad = r.tidy(() => r.sum(r.exp(runBroken(r.exp(x)))));
  t.throws(() => bad.backward(), { message: /broken rule/ });
  bad.dispose();
  t.is(live(), start);
  x.dispose();
});

test.serial('retainGraph keeps what was saved for a second backward', async (t) => {
  const x = r.tensor([1, 2], [2], { device: cpu, requiresGrad: true });
  const loss = r.tidy(() => r.sum(r.exp(x)));
  loss.backward(undefined, { retainGraph: true });
  loss.backward();
  assertNear(t, await values(x.grad!), [2 * Math.E, 2 * Math.E ** 2]);
  loss.dispose();
  x.dispose();
});

test.serial('a saved tensor with a recipe is recomputed when backward reaches its reader, not kept (SwiGLU under a matmul)', async (t) => {
  const opts = { device: cpu, requiresGrad: true };
  const run = async (recompute: boolean) => {
    const g = r.tensor(randomValues(64, 1), [8, 8], opts), u = r.tensor(randomValues(64, 2), [8, 8], opts), w = r.tensor(randomValues(64, 3), [8, 8], opts);
    const before = bytes();
    // clone() has no recipe: the matmul must keep its own copy of the activation.
    const loss = r.tidy(() => r.sum(r.square(r.matmul(recompute ? r.swiglu(g, u) : r.clone(r.swiglu(g, u)), w))));
    const held = bytes() - before;
    loss.backward();
    const grads = await Promise.all([g, u, w].map((p) => values(p.grad!)));
    for (const x of [g, u, w, loss]) x.dispose();
    return { held, grads };
  };
  const [lean, plain] = [await run(true), await run(false)];
  t.is(plain.held - lean.held, 64 * 4, "the activation's 64 floats are not kept");
  t.deepEqual(lean.grads, plain.grads, 'the same gradients, bit for bit');
});

test.serial('a LoRA DPO step keeps, per token and layer, exactly what the backward rules save', (t) => {
  // Independent reference: the tensors a decoder layer's rules read, counted from the architecture
  // (savedFloatsPerTokenLayer), against the bytes the device held at the step's peak.
  const s = TINY_SETUP;
  const row = measureMode(cpu, s, { lora: true, checkpointing: false });
  t.is(row.floatsPerTokenLayer, savedFloatsPerTokenLayer(s, true));
  // With checkpointing: each layer's input (hidden), plus its adapters' gradients: A [r, in] and
  // B [out, r] for q, o (d → d), k, v (d → kv), gate, up (d → I) and down (I → d).
  const ck = measureMode(cpu, s, { lora: true, checkpointing: true });
  const c = s.config, d = c.hidden_size, kv = (d / c.num_attention_heads) * c.num_key_value_heads, i = c.intermediate_size;
  const adapterGrads = s.loraR * (9 * d + 2 * kv + 3 * i);
  t.is(ck.floatsPerTokenLayer, d + adapterGrads / (2 * s.pairs * s.T));
});

function runBroken(y: r.Tensor): r.Tensor {
  return runOp('neg', [y], {}, () => {
    throw new Error('broken rule');
  });
}

function assertNear(t: { true: (v: boolean, m?: string) => void }, got: ArrayLike<number>, want: number[]): void {
  for (let k = 0; k < want.length; k++) t.true(Math.abs(got[k] - want[k]) <= 1e-5 * Math.max(1, Math.abs(want[k])), `${got[k]} vs ${want[k]}`);
}
