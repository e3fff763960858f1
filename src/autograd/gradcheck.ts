// Finite-difference check of an op's backward rule, in float64 on the CPU device.
import { Tensor } from './tensor.js';
import { backward } from './backward.js';
import { noGrad, tidy } from './scope.js';
import { allocArray } from './dtype.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed for the random projection of the output (see below). */
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  /** Where the worst mismatch is: input index, element index, analytic and numeric values. */
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

/**
 * Compares autograd's gradient of L = Σ r ⊙ fn(inputs) (r a fixed random tensor, so every output
 * element is checked at once) with central differences (L(x+ε) − L(x−ε)) / 2ε on each input element.
 * The inputs must be float64 tensors on the CPU device; those with requiresGrad are checked.
 */
export async function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): Promise<GradcheckResult> {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-4 } = opts;
  for (const [i, x] of inputs.entries()) {
    if (x.device.kind !== 'cpu' || (x.requiresGrad && x.dtype !== 'float64')) {
      throw new Error(`gradcheck input ${i} must be on the cpu device${x.requiresGrad ? ' and float64' : ''} (got ${x.dtype} on ${x.device.kind})`);
    }
  }
  const device = inputs[0].device;
  const probe = noGrad(() => fn(...inputs));
  const r = allocArray('float64', probe.size);
  let state = (opts.seed ?? 1234) >>> 0;
  for (let i = 0; i < r.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    r[i] = (state / 2 ** 32) * 2 - 1;
  }
  const rT = new Tensor(device.upload('float64', r), probe.shape, 'float64');
  probe.dispose();

  for (const x of inputs) x.zeroGrad();
  tidy(() => backward(fn(...inputs), rT));

  const objective = (): number => {
    const out = noGrad(() => fn(...inputs));
    const v = cpuValues(out);
    out.dispose();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * r[i];
    return s;
  };

  let maxAbsError = 0;
  let ok = true;
  let worst: GradcheckResult['worst'] = null;
  for (const [i, x] of inputs.entries()) {
    if (!x.requiresGrad) continue;
    const values = cpuValues(x);
    const analytic = x.grad ? cpuValues(x.grad) : new Float64Array(x.size);
    for (let j = 0; j < values.length; j++) {
      const orig = values[j];
      values[j] = orig + eps;
      const up = objective();
      values[j] = orig - eps;
      const down = objective();
      values[j] = orig;
      const numeric = (up - down) / (2 * eps);
      const err = Math.abs(numeric - analytic[j]);
      if (err > atol + rtol * Math.abs(numeric)) ok = false;
      if (err >= maxAbsError) {
        maxAbsError = err;
        worst = { input: i, index: j, analytic: analytic[j], numeric };
      }
    }
  }
  for (const x of inputs) x.zeroGrad();
  rT.dispose();
  return { ok, maxAbsError, worst };
}

/** The CPU device's storage is the typed array itself: read and poke it synchronously. */
function cpuValues(t: Tensor): Float64Array | Float32Array | Int32Array {
  return t.storage.handle as Float64Array;
}

