// Timing kernels: warm-up, then batches of launches between syncs, medians. The same loop times
// relpo and the peer (TF.js), each with its own launch and its own sync.
import * as r from '../src/index.js';
import { mulberry32 } from '../src/autograd/random.js';

export interface Timing {
  /** Median milliseconds per launch. */
  medianMs: number;
  minMs: number;
  /** Median milliseconds per launch spent in JavaScript queueing the batch (before its sync). */
  hostMs: number;
  /** Batches timed. */
  samples: number;
  /** Launches per batch. */
  inner: number;
}

export interface TimeOptions {
  /** Batches timed; the median is over these. */
  reps?: number;
  /** Launches queued per batch, so that per-submit overhead is amortised on fast devices. */
  inner?: number;
  /** Stop early when the total time spent passes this many ms (slow devices). */
  budgetMs?: number;
}

/**
 * Times `launch` (which queues work and frees what it made) with `sync` (which submits what is
 * queued and waits for the GPU to finish it). One launch runs untimed (pipeline compilation), then
 * one is timed alone to size the batches
 * (about 50 ms each, at most 50 launches); then a whole batch runs untimed as warm-up (a buffer
 * pool reuses a freed buffer only after the next submit, so the first pass over a new size
 * allocates fresh buffers and would otherwise be timed); then `reps` batches are timed, each from
 * the first launch to the end of its sync, divided by the launches in it. The median is reported.
 */
export async function timeBatches(launch: () => void, sync: () => Promise<void>, opts: TimeOptions = {}): Promise<Timing> {
  const { reps = 7, budgetMs = 20_000 } = opts;
  let inner = opts.inner ?? 0;
  await sync();
  const hosts: number[] = [];
  const batch = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) launch();
    hosts.push((performance.now() - t0) / n);
    await sync();
    return (performance.now() - t0) / n;
  };
  await batch(1); // compiles the pipelines on a first call
  const first = await batch(1);
  if (!inner) inner = Math.max(1, Math.min(50, Math.floor(50 / Math.max(first, 1e-3))));
  await batch(inner);
  const samples: number[] = [];
  hosts.length = 0;
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    samples.push(await batch(inner));
    if (performance.now() - start > budgetMs) break;
  }
  samples.sort((a, b) => a - b);
  hosts.sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(samples.length / 2)], minMs: samples[0], hostMs: hosts[Math.floor(hosts.length / 2)], samples: samples.length, inner };
}

/** A file-name-safe name for the adapter. */
export function adapterSlug(description: string): string {
  return description.replace(/^webgpu:\s*/, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}


/**
 * n standard normal float32 values from a seeded source. Box–Muller for up to 2²⁰ values; beyond
 * that, draws from a table of 2²⁰ of them at pseudo-random indices (the same distribution, ten
 * times faster: a 4096×32000 input would otherwise take seconds of the run).
 */
export function randnHost(n: number, seed: number): Float32Array {
  const TABLE = 1 << 20;
  const u = mulberry32(seed);
  const m = Math.min(n, TABLE);
  const out = new Float32Array(n);
  for (let i = 0; i < m; i += 2) {
    const rad = Math.sqrt(-2 * Math.log(1 - u()));
    const ang = 2 * Math.PI * u();
    out[i] = rad * Math.cos(ang);
    if (i + 1 < m) out[i + 1] = rad * Math.sin(ang);
  }
  let s = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = m; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = out[(s >>> 0) & (TABLE - 1)];
  }
  return out;
}

/** n integers uniform in [0, hi), from a seeded source (token ids and the like). */
export function randintHost(n: number, hi: number, seed: number): Int32Array {
  const u = mulberry32(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(u() * hi);
  return out;
}

/**
 * How far `got` is from `want`: max |got − want| over max |want| (normwise, so outputs near zero
 * do not blow it up). NaN when the lengths differ or either side has a NaN/Inf the other lacks.
 */
export function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return NaN;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    const d = Math.abs(g - w);
    if (d < Infinity) {
      if (d > diff) diff = d;
      const a = Math.abs(w);
      if (a > scale) scale = a;
    } else if (!Object.is(g, w)) {
      return NaN; // a NaN or an Inf that the other side lacks
    }
  }
  return diff / Math.max(scale, 1e-30);
}
