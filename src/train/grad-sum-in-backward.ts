// The gradient sum started from inside the share's last backward (DDP's per-bucket hook;
// docs/distributed.md). backward's onLeafGrad says when a parameter's gradient is final; once a
// bucket's are all final its read-back starts (on WebGPU a copy queued behind the backward's work
// so far, resolving while the rest still runs) and its all-reduce is called, deferred: its turn
// among the collectives is taken then, in the buckets' order, the same on every rank, and it runs
// once the read has filled its buffer, whenever that is on this rank. The buckets are
// sumGradients' own (the same values in each all-reduce, so the same bits), called last first:
// backward finalises the last layers' gradients first. A bucket waits for those before it, so
// the order never depends on the hook's.
import type { Tensor } from '../autograd/tensor.js';
import type { BackwardOptions } from '../autograd/backward.js';
import type { Communicator, DeferredCollective, FloatArray } from '../distributed/index.js';
import { BUCKET_VALUES, type GradSyncTimes, bucketHost, fillBucket, gradientBuckets, writeBucket } from './data-parallel.js';

interface Called {
  bucket: Tensor[];
  host: FloatArray;
  reduce: DeferredCollective;
  /** Settles once the buffer is filled (or its read failed) and ready() was called. */
  read: Promise<void>;
}

/** One step's gradient sum from backward's hook: pass backwardOptions to the share's last backward, run the share in around(), then finish(). */
export class GradientSumInBackward {
  private readonly buckets: Tensor[][];
  private readonly bucketOf = new Map<Tensor, number>();
  /** Each bucket's parameters whose gradient is not final yet. */
  private readonly waiting: number[];
  private readonly seen = new Set<Tensor>();
  private readonly called: Called[] = [];
  private readFailure: unknown;
  private readonly times: GradSyncTimes = { read: 0, reduce: 0, write: 0, wall: 0 };

  /** backward's options for the share's last backward. */
  readonly backwardOptions: BackwardOptions = { onLeafGrad: (leaf) => this.final(leaf) };

  constructor(private readonly comm: Communicator, params: Tensor[], bucketValues = BUCKET_VALUES) {
    this.buckets = gradientBuckets(params, bucketValues).reverse();
    this.buckets.forEach((bucket, b) => bucket.forEach((p) => this.bucketOf.set(p, b)));
    this.waiting = this.buckets.map((bucket) => bucket.length);
  }

  private final(leaf: Tensor): void {
    const b = this.bucketOf.get(leaf);
    if (b === undefined || this.seen.has(leaf)) return;
    this.seen.add(leaf);
    this.waiting[b]--;
    while (this.called.length < this.buckets.length && this.waiting[this.called.length] === 0) this.call(this.called.length);
  }

  private call(b: number): void {
    const bucket = this.buckets[b];
    const host = bucketHost(bucket);
    const reduce = this.comm.allReduceSumIdenticalDeferred(host);
    // Awaited in finish(); until then a rejection must not count as unhandled (that ends the job).
    reduce.done.catch(() => {});
    const started = performance.now();
    // ready() whatever the read did: every rank's all-reduce must run; a failed read fails the step after it.
    const read = fillBucket(bucket, host).then(
      () => void (this.times.read += (performance.now() - started) / 1000),
      (e: unknown) => void (this.readFailure ??= e),
    ).finally(() => reduce.ready());
    this.called.push({ bucket, host, reduce, read });
  }

  /**
   * Runs the share's step, then (whether it succeeded or failed) calls the all-reduces of the
   * buckets the hook has not (a parameter the last backward did not reach, or a step that failed
   * before it: every rank makes the same calls) and waits for every fill, so that the blocking
   * collectives after it cannot deadlock, and for the all-reduces. A failed read fails the step,
   * after the step's own error.
   */
  async around<T>(step: () => Promise<T>): Promise<T> {
    let failed = false;
    try {
      return await step();
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      const started = performance.now();
      while (this.called.length < this.buckets.length) this.call(this.called.length);
      await Promise.all(this.called.map((c) => c.read));
      // The all-reduces too (their errors come from finish): the blocking collectives after this would wait for them anyway, on the main thread.
      await Promise.allSettled(this.called.map((c) => c.reduce.done));
      this.times.wall += (performance.now() - started) / 1000;
      if (this.readFailure !== undefined && !failed) throw this.readFailure;
    }
  }

  /** Each parameter's .grad ← its sum over ranks (after around); the times after the backward (wall: the waits in around and the write-back). */
  async finish(): Promise<GradSyncTimes> {
    const started = performance.now();
    for (const { bucket, host, reduce } of this.called) {
      this.times.reduce += await reduce.done;
      const t = performance.now();
      writeBucket(bucket, host);
      this.times.write += (performance.now() - t) / 1000;
    }
    this.times.wall += (performance.now() - started) / 1000;
    return { ...this.times };
  }
}
