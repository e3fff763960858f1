// The kernels' WebGPU-vs-CPU checks in headless Chromium (WebGPU on SwiftShader, whose limits are
// not Dawn-in-Node's: 10 storage buffers per stage, 256 invocations per workgroup), on a
// representative subset: matmul (a small and a tiled size, transposed), softmax, rmsNorm with its
// gradients, attention forward and backward, token log-probs forward and backward, AdamW steps and
// a broadcasting elementwise op with its gradients. In the page, the bundle's CPU device (float64)
// is the reference and its WebGPU device (float32) is checked against it, with the Node kernel
// tests' tolerances. Inputs are made here (seeded) and written into the module.
import test from 'ava';
import { assertClose, assertMaxRel, randomValues } from '../helpers/devices.js';
import { openBrowser, runInPage } from '../helpers/browser.js';

const browser = await openBrowser(test);

/** Both devices in the page, and helpers; `body` returns { name: { got, want } }. */
function pageModule(inputs: unknown, body: string): string {
  return `
import * as r from '/dist/browser/relpo.js';
const cpu = r.cpuDevice();
const gpu = await r.webgpuDevice();
if (!gpu) throw new Error('no WebGPU device in the page');
const dtypeOn = (device) => (device.kind === 'cpu' ? 'float64' : 'float32');
const on = (device, values, shape, requiresGrad = false) => r.tensor(values, shape, { device, dtype: dtypeOn(device), requiresGrad });
const vals = async (t) => Array.from(await t.data());
const input = ${JSON.stringify(inputs)};
async function both(run) {
  const want = await run(cpu), got = await run(gpu);
  const out = {};
  for (const k of Object.keys(want)) out[k] = { want: want[k], got: got[k] };
  return out;
}
export default async () => { ${body} };`;
}

type Pairs = Record<string, { got: number[]; want: number[] }>;

async function inPage(inputs: unknown, body: string): Promise<Pairs> {
  return runInPage<Pairs>(browser.page!, pageModule(inputs, body));
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

browser.test(`matmul: 7×13 @ 13×5, and a tiled 129×67 @ 67×131 (plain and with b transposed), WebGPU equals the CPU to 1e-5 relative${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const cases = [{ a: [7, 13], b: [13, 5] }, { a: [129, 67], b: [67, 131] }, { a: [129, 67], b: [131, 67], transposeB: true }];
  const inputs = cases.map((c, k) => ({ ...c, av: randomValues(size(c.a), 10 + k), bv: randomValues(size(c.b), 20 + k) }));
  const out = await inPage(inputs, `
    const res = {};
    for (const [k, c] of input.entries()) {
      Object.assign(res, Object.fromEntries(Object.entries(await both(async (d) => ({ [k]: await vals(r.matmul(on(d, c.av, c.a), on(d, c.bv, c.b), { transposeB: !!c.transposeB })) }))).map(([, v]) => [k, v])));
    }
    return res;`);
  t.is(Object.keys(out).length, cases.length);
  for (const [k, c] of cases.entries()) {
    t.is(out[k].got.length, c.a[0] * (c.transposeB ? c.b[0] : c.b[1]));
    assertMaxRel(t, out[k].got, out[k].want, 1e-5, `matmul ${JSON.stringify(c)}`);
  }
});

browser.test(`softmax and logSoftmax over rows (257, 33 wide) and a middle axis: WebGPU equals the CPU${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const cases: [number[], number][] = [[[4, 257], -1], [[3, 33], -1], [[2, 3, 4, 5], 1]];
  const inputs = cases.map(([shape, axis], k) => ({ shape, axis, v: randomValues(size(shape), 31 + k, -12, 12) }));
  const out = await inPage(inputs, `
    return both(async (d) => {
      const res = {};
      for (const [k, c] of input.entries()) {
        res['softmax ' + k] = await vals(r.softmax(on(d, c.v, c.shape), c.axis));
        res['logSoftmax ' + k] = await vals(r.logSoftmax(on(d, c.v, c.shape), c.axis));
      }
      return res;
    });`);
  t.is(Object.keys(out).length, 2 * cases.length);
  for (const [name, { got, want }] of Object.entries(out)) assertClose(t, got, want, { rtol: 1e-5, atol: 1e-6 }, name);
});

browser.test(`rmsNorm forward and its gradients (x and weight): WebGPU equals the CPU${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const shape = [5, 96];
  const inputs = { shape, x: randomValues(size(shape), 3, -2, 2), w: randomValues(96, 4, 0.5, 1.5), dy: randomValues(size(shape), 5) };
  const out = await inPage(inputs, `
    return both(async (d) => {
      const x = on(d, input.x, input.shape, true), w = on(d, input.w, [96], true);
      const y = r.rmsNorm(x, w, 1e-6);
      r.sum(r.mul(y, on(d, input.dy, input.shape))).backward();
      return { y: await vals(y), dx: await vals(x.grad), dw: await vals(w.grad) };
    });`);
  assertClose(t, out.y.got, out.y.want, { rtol: 1e-5, atol: 2e-6 }, 'y');
  for (const k of ['dx', 'dw']) assertClose(t, out[k].got, out[k].want, { rtol: 1e-4, atol: 1e-5 * Math.sqrt(size(shape)) }, k);
});

browser.test(`attention (B2 H4 Hkv2 T33 D16, causal with right padding) forward and dQ, dK, dV: WebGPU equals the CPU${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const [B, H, Hkv, T, D] = [2, 4, 2, 33, 16];
  const inputs = { q: [B, H, T, D], kv: [B, Hkv, T, D], qv: randomValues(B * H * T * D, 1), kv1: randomValues(B * Hkv * T * D, 2), kv2: randomValues(B * Hkv * T * D, 3), dy: randomValues(B * H * T * D, 4), lengths: [T - 5, T] };
  const out = await inPage(inputs, `
    return both(async (d) => {
      const q = on(d, input.qv, input.q, true), k = on(d, input.kv1, input.kv, true), v = on(d, input.kv2, input.kv, true);
      const y = r.attention(q, k, v, { keyPadding: r.tensor(input.lengths, [2], { device: d, dtype: 'int32' }) });
      r.sum(r.mul(y, on(d, input.dy, input.q))).backward();
      return { out: await vals(y), dq: await vals(q.grad), dk: await vals(k.grad), dv: await vals(v.grad) };
    });`);
  assertClose(t, out.out.got, out.out.want, { rtol: 1e-4, atol: 2e-6 }, 'out');
  for (const k of ['dq', 'dk', 'dv']) assertClose(t, out[k].got, out[k].want, { rtol: 1e-3, atol: 1e-5 }, k);
});

browser.test(`tokenLogprobs over a 1000-token vocabulary with a mask, forward and gradient: WebGPU equals the CPU${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const [B, T, V] = [3, 7, 1000];
  const mask = Array.from({ length: B * T }, (_, i) => (i % 5 === 4 ? 0 : 1));
  const ids = randomValues(B * T, 8, 0, V).map((x, i) => (mask[i] === 0 ? -100 : Math.floor(x)));
  const inputs = { shape: [B, T, V], lead: [B, T], logits: randomValues(B * T * V, 9, -6, 6), ids, mask, w: randomValues(B * T, 10) };
  const out = await inPage(inputs, `
    return both(async (d) => {
      const x = on(d, input.logits, input.shape, true);
      const y = r.tokenLogprobs(x, r.tensor(input.ids, input.lead, { device: d, dtype: 'int32' }), on(d, input.mask, input.lead));
      r.sum(r.mul(y, on(d, input.w, input.lead))).backward();
      return { out: await vals(y), grad: await vals(x.grad) };
    });`);
  assertClose(t, out.out.got, out.out.want, { rtol: 1e-5, atol: 2e-5 }, 'out');
  assertClose(t, out.grad.got, out.grad.want, { rtol: 1e-4, atol: 1e-6 }, 'grad');
  mask.forEach((m, i) => { if (m === 0) t.is(out.out.got[i], 0, `masked out[${i}]`); });
});

browser.test(`AdamW: four steps (weight decay, lr halved after two) on four parameters: WebGPU equals the CPU${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const shapes = [[1], [7], [3, 257], [1000]];
  const inputs = { shapes, init: shapes.map((s, i) => randomValues(size(s), 40 + i, -2, 2)), grads: [0, 1, 2, 3].map((step) => shapes.map((s, i) => randomValues(size(s), 100 * step + i, -3, 3))) };
  const out = await inPage(inputs, `
    return both(async (d) => {
      const params = input.shapes.map((s, i) => on(d, input.init[i], s, true));
      const opt = new r.AdamW(params, { lr: 0.01, weightDecay: 0.1 });
      for (const [step, grads] of input.grads.entries()) {
        params.forEach((p, i) => { p.zeroGrad(); p.grad = r.keep(on(d, grads[i], p.shape)); });
        if (step === 2) opt.lr *= 0.5;
        opt.step();
      }
      const res = {};
      for (const [i, p] of params.entries()) res['param ' + i] = await vals(p);
      return res;
    });`);
  t.is(Object.keys(out).length, shapes.length);
  for (const [name, { got, want }] of Object.entries(out)) assertClose(t, got, want, { rtol: 1e-5, atol: 1e-6 }, name);
});

browser.test(`elementwise with broadcasting ([3,1,5] · [4,1] + [5]) and the gradients summed back to each shape: WebGPU equals the CPU${browser.note}`, async (t) => {
  if (!browser.page) return t.fail(browser.missing!);
  const inputs = { a: randomValues(15, 1), b: randomValues(4, 2), c: randomValues(5, 3), dy: randomValues(60, 4) };
  const out = await inPage(inputs, `
    return both(async (d) => {
      const a = on(d, input.a, [3, 1, 5], true), b = on(d, input.b, [4, 1], true), c = on(d, input.c, [5], true);
      const y = r.add(r.mul(a, b), c);
      r.sum(r.mul(y, on(d, input.dy, [3, 4, 5]))).backward();
      return { y: await vals(y), da: await vals(a.grad), db: await vals(b.grad), dc: await vals(c.grad) };
    });`);
  t.is(out.y.got.length, 60);
  for (const [name, { got, want }] of Object.entries(out)) assertClose(t, got, want, { rtol: 1e-5, atol: 1e-6 }, name);
});
