// backward's onLeafGrad: once per leaf, when its .grad is final, in the same order every run, and
// the same bits as without it (the data-parallel gradient sum starts buckets from it).
import test from 'ava';
import * as r from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { cpu, rng, values } from '../helpers/devices.js';

/** A three-layer tanh MLP with its input weight also read by the last layer (tied), a checkpointed middle block and an unused leaf. */
function mlp(seed: number) {
  const next = rng(seed);
  const leaf = (shape: number[]) => r.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() - 0.5), shape, { device: cpu, dtype: 'float64', requiresGrad: true });
  const params = { w1: leaf([4, 6]), w2: leaf([6, 6]), b2: leaf([6]), w3: leaf([6, 3]), unused: leaf([2]) };
  const x = r.tensor(Array.from({ length: 20 }, () => next()), [5, 4], { device: cpu, dtype: 'float64' });
  const loss = (): Tensor => {
    const h1 = r.tanh(r.matmul(x, params.w1));
    const h2 = r.checkpoint((h) => r.tanh(r.add(r.matmul(h, params.w2), params.b2)), [h1], [params.w2, params.b2]);
    // The tied read: w1 (4×6) again, after the last layer.
    const out = r.matmul(r.matmul(h2, params.w3), r.transpose(r.matmul(params.w1, params.w3), 0, 1));
    return r.sum(r.mul(out, out));
  };
  return { params, loss };
}

async function run(withHook: boolean, passes: number, check: (ok: boolean, what: string) => void) {
  const { params, loss } = mlp(7);
  const names = new Map<Tensor, string>(Object.entries(params).map(([k, v]) => [v, k]));
  const calls: string[][] = [];
  const atHook: { name: string; grad: Tensor | null }[] = [];
  for (let pass = 0; pass < passes; pass++) {
    const order: string[] = [];
    const onLeafGrad = (leaf: Tensor) => {
      order.push(names.get(leaf) ?? '?');
      // The gradient at hook time: it must be the one backward leaves.
      atHook.push({ name: names.get(leaf)!, grad: leaf.grad });
    };
    r.tidy(() => loss().backward(undefined, withHook ? { onLeafGrad } : {}));
    calls.push(order);
    if (withHook) {
      for (const h of atHook.splice(0)) check(h.grad !== null && h.grad === params[h.name as keyof typeof params].grad, `${h.name}: .grad set before its hook and not replaced after it`);
    }
  }
  const grads: Record<string, number[] | null> = {};
  for (const [k, p] of Object.entries(params)) grads[k] = p.grad ? await values(p.grad) : null;
  return { calls, grads };
}

test('onLeafGrad fires once per leaf read, with its final .grad, last layers first, the same order every run; the gradients are bit for bit those without it', async (t) => {
  const check = (ok: boolean, what: string) => t.true(ok, what);
  for (const passes of [1, 2]) {
    const plain = await run(false, passes, check);
    const hooked = await run(true, passes, check);
    const again = await run(true, passes, check);
    t.deepEqual(hooked.grads, plain.grads, `${passes} backward call(s): the same bits`);
    t.deepEqual(again.calls, hooked.calls, 'the same order on every run');
    for (const order of hooked.calls) {
      t.deepEqual([...order].sort(), ['b2', 'w1', 'w2', 'w3'], 'once per leaf the graph reads (the unused one never)');
      // w3 is read by the last layer only; w2 and b2 inside the checkpointed block; w1 first and tied at the end.
      t.true(order.indexOf('w3') < order.indexOf('w2') && order.indexOf('w2') < order.indexOf('w1'), order.join(' '));
      t.is(order.at(-1), 'w1');
    }
    t.is(plain.grads.unused, null);
  }
});

test('onLeafGrad: a leaf root hears of its gradient too; a throwing hook ends backward with its error', (t) => {
  const x = r.tensor([3], [1], { device: cpu, requiresGrad: true });
  const seen: Tensor[] = [];
  r.backward(x, undefined, { onLeafGrad: (l) => seen.push(l) });
  t.deepEqual(seen, [x]);
  const y = r.tensor([1, 2], [2], { device: cpu, requiresGrad: true });
  t.throws(() => r.tidy(() => r.sum(r.mul(y, y)).backward(undefined, { onLeafGrad: () => { throw new Error('hook failed'); } })), { message: 'hook failed' });
});
