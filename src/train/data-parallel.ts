// Data parallelism across processes (docs/distributed.md): each rank runs a contiguous share of a
// step's micro-batches, then the ranks exchange what the step computed (its numbers and, for a
// loss over the whole step, its per-row scalars) and sum their gradients, so every replica takes
// the same optimizer step. The collectives come from src/distributed; a single process never
// calls any of this.
import type { Tensor } from '../autograd/tensor.js';
import type { BackwardOptions } from '../autograd/backward.js';
import { tensor } from '../autograd/create.js';
import type { Communicator, FloatArray } from '../distributed/index.js';
import type { StepOutcome } from './step.js';
import { type RowScalars, gatherStepRows, readRowScalars, writeRowScalars } from './step-rows.js';
import { allGatherWire } from './rank-wire.js';

/** The micro-batches [from, to) of a step's plan that this rank runs. */
export interface StepShare {
  from: number;
  to: number;
  /**
   * The options of the share's last backward (one pass: its last micro-batch's; two passes: pass
   * 2's last), where the gradient sum starts from backward's hook (grad-sum-in-backward.ts); the
   * other backwards only accumulate (DDP's no_sync).
   */
  lastBackward?: BackwardOptions;
}

/** Rank r's contiguous share of k micro-batches (rank order = micro-batch order); k must be a multiple of the ranks. */
export function shareOf(comm: Communicator, k: number): StepShare {
  if (k % comm.size !== 0) {
    throw new Error(
      `trainPreference: ${comm.size} ranks need gradientAccumulationSteps to be a multiple of ${comm.size} (each rank runs an equal, contiguous share of a step's micro-batches), got ${k}; ` +
        `use gradientAccumulationSteps ${Math.ceil(k / comm.size) * comm.size} with the same batchSize, or launch ${k} rank(s) or a divisor of ${k}`,
    );
  }
  const per = k / comm.size;
  return { from: comm.rank * per, to: (comm.rank + 1) * per };
}

/** Rank r's contiguous part [⌊r·n/N⌋, ⌊(r+1)·n/N⌋) of n items in order (evaluation batches): any n, a part may be empty. */
export function partOf(comm: Communicator, n: number): StepShare {
  return { from: Math.floor((comm.rank * n) / comm.size), to: Math.floor(((comm.rank + 1) * n) / comm.size) };
}

/** Every rank's JSON value, in rank order, on every rank (its text's UTF-8 bytes, copied bit for bit). */
export function allGatherJson<T>(comm: Communicator, value: T): T[] {
  return allGatherWire(comm, (w) => w.text(JSON.stringify(value)), (r) => JSON.parse(r.text()) as T);
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** What every other rank throws when rank r failed: its message, naming it. */
function rankFailed(comm: Communicator, r: number, when: string, message: string, who: string): Error {
  return new Error(`${who}: rank ${r} of ${comm.size} failed ${when}: ${message}`);
}

/**
 * Runs fn on every rank; when it fails on any, every rank throws (the failing rank its own error,
 * the others one naming it), so that no rank waits in a collective for ever, nor ends the job
 * while rank 0 writes a checkpoint.
 */
export async function together<T>(comm: Communicator, when: string, fn: () => Promise<T>, who = 'trainPreference'): Promise<T> {
  if (comm.size === 1) return fn();
  let failure: unknown;
  let ok = true;
  let value: T | undefined;
  try {
    value = await fn();
  } catch (e) {
    failure = e;
    ok = false;
  }
  if (comm.allTrue(ok)) return value as T;
  const messages = allGatherJson(comm, ok ? null : messageOf(failure));
  if (!ok) throw failure;
  const r = messages.findIndex((m) => m !== null);
  throw rankFailed(comm, r, when, messages[r]!, who);
}

/** A two-pass step's share: its micro-batches, and where its pass-1 rows meet every other rank's. */
export interface RowShare extends StepShare {
  /**
   * Every rank's rows (this one's, from `own`, included) in the step's row order. When `own` fails
   * on any rank, every rank throws (that rank its own error, the others one naming it).
   */
  gather(own: () => Promise<RowScalars>): Promise<RowScalars>;
}

/**
 * Every rank's pass-1 rows in rank order (= the global micro-batch order), laid out as one step
 * (gatherStepRows): every rank then evaluates the same loss over a matrix spanning all ranks. The
 * rows travel as binary words (writeRowScalars); a rank whose rows failed sends its message
 * instead, so the failure is every rank's without another collective.
 */
export async function gatherRowsAcrossRanks(comm: Communicator, own: () => Promise<RowScalars>, when: string): Promise<RowScalars> {
  let rows: RowScalars | undefined;
  let failure: unknown;
  try {
    rows = await own();
  } catch (e) {
    failure = e;
  }
  const parts = allGatherWire(
    comm,
    (w) => (rows ? writeRowScalars(w.number(0), rows) : w.number(1).text(messageOf(failure))),
    (r) => (r.number() === 0 ? readRowScalars(r) : { failed: r.text() }),
  );
  if (!rows) throw failure;
  const r = parts.findIndex((p) => 'failed' in p);
  if (r >= 0) throw rankFailed(comm, r, when, (parts[r] as { failed: string }).failed, 'trainPreference');
  return gatherStepRows(parts as RowScalars[]);
}

/** What a rank's share of a step contributes to the step's numbers (JSON-safe). */
export interface ShareReport {
  loss: number;
  tokens: number;
  lossRows: { chosen: number; rejected: number };
  metrics: Record<string, number>;
  /** One pass per micro-batch: each metric's sum over the share's micro-batches (already /k) and how many reported it. */
  metricSums?: Record<string, { sum: number; count: number }>;
}

export const shareReport = (o: StepOutcome): ShareReport => ({ loss: o.loss, tokens: o.tokens, lossRows: o.lossRows, metrics: o.metrics, ...(o.metricSums ? { metricSums: o.metricSums } : {}) });

/**
 * The step's numbers from every rank's report (in rank order, so every rank adds the same way):
 * tokens add up; one pass per micro-batch, the loss, rows and metrics are sums over the step's k
 * micro-batches; two passes, every rank evaluated the same loss over the whole step. The gradient
 * norm is the caller's, over the summed gradients.
 */
export function combineReports(reports: ShareReport[], k: number, gradNorm: number): StepOutcome {
  const tokens = reports.reduce((t, r) => t + r.tokens, 0);
  if (!reports[0].metricSums) return { ...reports[0], tokens, gradNorm };
  const sums = new Map<string, { sum: number; count: number }>();
  for (const r of reports) {
    for (const [n, s] of Object.entries(r.metricSums!)) {
      const was = sums.get(n) ?? { sum: 0, count: 0 };
      sums.set(n, { sum: was.sum + s.sum, count: was.count + s.count });
    }
  }
  const metrics: Record<string, number> = {};
  for (const [n, s] of sums) metrics[n] = s.count === k ? s.sum : (s.sum * k) / s.count;
  return {
    loss: reports.reduce((l, r) => l + r.loss, 0),
    metrics, gradNorm, tokens,
    lossRows: { chosen: reports.reduce((c, r) => c + r.lossRows.chosen, 0), rejected: reports.reduce((c, r) => c + r.lossRows.rejected, 0) },
  };
}

/** Where a gradient sum spent its time (seconds). */
export interface GradSyncTimes {
  /** Device → host, the buckets' reads. */
  read: number;
  /** The all-reduces themselves (on MPI's worker thread when overlapped). */
  reduce: number;
  /** Host → device. */
  write: number;
  /** The whole sum, start to end: read + reduce + write when sequential, less what the overlap hides. */
  wall: number;
}

/** Values per all-reduce (DDP's buckets are 25 MB; 2^22 float32 values are 16 MB). */
export const BUCKET_VALUES = 1 << 22;

/** Consecutive parameters of one dtype, at most bucketValues values a bucket (a larger parameter alone). */
export function gradientBuckets(params: Tensor[], bucketValues = BUCKET_VALUES): Tensor[][] {
  const buckets: Tensor[][] = [];
  let start = 0;
  while (start < params.length) {
    let end = start + 1, values = params[start].size;
    while (end < params.length && params[end].dtype === params[start].dtype && values + params[end].size <= bucketValues) values += params[end++].size;
    buckets.push(params.slice(start, end));
    start = end;
  }
  return buckets;
}

/**
 * Each parameter's .grad ← its sum over ranks, the same bits on every rank (allReduceSumIdentical),
 * in buckets of consecutive parameters of one dtype (gradientBuckets): read back, reduced, written
 * back. A parameter without a gradient on this rank adds zeros (and gets the sum). The losses
 * already scale each micro-batch by 1/k of the whole step, so the sum is the step's gradient.
 * Overlapped (the default), bucket i is all-reduced on MPI's worker thread while bucket i+1 is read
 * back and bucket i−1 written: the same buckets and the same collectives, so the same bits.
 */
export async function sumGradients(comm: Communicator, params: Tensor[], bucketValues = BUCKET_VALUES, overlap = true): Promise<GradSyncTimes> {
  const started = performance.now();
  const times: GradSyncTimes = { read: 0, reduce: 0, write: 0, wall: 0 };
  const since = (t: number) => (performance.now() - t) / 1000;
  const read = async (bucket: Tensor[]): Promise<FloatArray> => {
    const t = performance.now();
    const host = await readBucket(bucket);
    times.read += since(t);
    return host;
  };
  const write = (bucket: Tensor[], host: FloatArray) => {
    const t = performance.now();
    writeBucket(bucket, host);
    times.write += since(t);
  };
  const buckets = gradientBuckets(params, bucketValues);
  if (!overlap) {
    for (const bucket of buckets) {
      const host = await read(bucket);
      const t = performance.now();
      comm.allReduceSumIdentical(host);
      times.reduce += since(t);
      write(bucket, host);
    }
  } else {
    let inFlight: { bucket: Tensor[]; host: FloatArray; reduced: Promise<number> } | null = null;
    const finish = async ({ bucket, host, reduced }: NonNullable<typeof inFlight>) => {
      times.reduce += await reduced;
      write(bucket, host);
    };
    for (const bucket of buckets) {
      const host = await read(bucket);
      const reduced = comm.allReduceSumIdenticalAsync(host);
      // Awaited in finish; until then a rejection must not count as unhandled (that ends the job).
      reduced.catch(() => {});
      if (inFlight) await finish(inFlight);
      inFlight = { bucket, host, reduced };
    }
    if (inFlight) await finish(inFlight);
  }
  times.wall = since(started);
  return times;
}

/** A bucket's host buffer: its parameters' values side by side, in their dtype. */
export function bucketHost(bucket: Tensor[]): FloatArray {
  const values = bucket.reduce((n, p) => n + p.size, 0);
  return bucket[0].dtype === 'float64' ? new Float64Array(values) : new Float32Array(values);
}

/** host ← a bucket's gradients side by side (zeros for a parameter without one). */
export async function fillBucket(bucket: Tensor[], host: FloatArray): Promise<void> {
  const read = await Promise.all(bucket.map((p) => (p.grad ? p.grad.data() : null)));
  let at = 0;
  bucket.forEach((p, i) => {
    if (read[i]) host.set(read[i] as ArrayLike<number>, at);
    at += p.size;
  });
}

async function readBucket(bucket: Tensor[]): Promise<FloatArray> {
  const host = bucketHost(bucket);
  await fillBucket(bucket, host);
  return host;
}

/** Each parameter's .grad ← its slice of the summed bucket, on its device. */
export function writeBucket(bucket: Tensor[], host: FloatArray): void {
  let at = 0;
  for (const p of bucket) {
    const g = tensor(host.slice(at, at + p.size), p.shape, { device: p.device, dtype: p.dtype });
    p.grad?.dispose();
    p.grad = g;
    at += p.size;
  }
}
