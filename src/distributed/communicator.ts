// The collectives a data-parallel run needs, as one interface over MPI (mpi.ts) or over a single
// process (rank 0 of 1: every collective is the identity). Every call blocks until the
// collective is done on this rank, except the …Async ones, which run on a worker thread and
// resolve a Promise, and the …Deferred one, which also waits for its buffer to be marked ready;
// every rank must make the same calls in the same order with buffers of the same length (the one
// exception: allGatherRows' rows). Collectives run one at a time in call order: a blocking call
// waits for the asynchronous ones called before it, and throws while a deferred one waits for ready().

export type FloatArray = Float32Array | Float64Array;
export type CollectiveArray = FloatArray | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A collective whose turn is taken (call order) before its buffer is filled. */
export interface DeferredCollective {
  /** Resolves with the seconds spent in MPI once it ran; rejects with MPI's message. */
  done: Promise<number>;
  /** The buffer now holds this rank's values: the collective runs in its turn. Call it exactly once, whatever happened. */
  ready(): void;
}

/** Every rank's rows, concatenated in rank order, and how many values each rank gave. */
export interface GatheredRows {
  data: Float64Array;
  counts: number[];
}

export interface Communicator {
  readonly rank: number;
  readonly size: number;
  readonly backend: 'mpi' | 'single';
  /**
   * buf ← Σ over ranks, in place (MPI_Allreduce). MPI does not promise every rank the same bits;
   * Open MPI gave them here (docs/distributed.md), but a replica that must stay bit-identical
   * should use allReduceSumIdentical.
   */
  allReduceSum(buf: FloatArray): void;
  /** buf ← Σ over ranks, in place, the same bits on every rank: reduced on rank 0, then broadcast. */
  allReduceSumIdentical(buf: FloatArray): void;
  /**
   * allReduceSum on a worker thread: starts in call order after every collective called before it,
   * resolves with the seconds it spent in MPI, rejects with MPI's message. Leave buf alone until then.
   */
  allReduceSumAsync(buf: FloatArray): Promise<number>;
  /** allReduceSumIdentical on a worker thread, as allReduceSumAsync: the same bits as the blocking form. */
  allReduceSumIdenticalAsync(buf: FloatArray): Promise<number>;
  /**
   * allReduceSumIdenticalAsync whose place in the order of collectives is this call's, but which
   * starts only after ready(): its buffer may be filled later (a gradient read back from the
   * device). Until ready(), every blocking collective throws rather than wait for it for ever.
   */
  allReduceSumIdenticalDeferred(buf: FloatArray): DeferredCollective;
  /** True on every rank when ok is true on every rank (a 0/1 flag reduced by MIN). */
  allTrue(ok: boolean): boolean;
  /** buf ← root's buf, byte for byte, on every rank. */
  broadcast(buf: CollectiveArray, root?: number): void;
  /** Every rank's rows (any number per rank, none included) in rank order, on every rank. */
  allGatherRows(rows: Float64Array): GatheredRows;
  barrier(): void;
  /** Ends this process's part in the job (MPI_Finalize); idempotent. */
  finalize(): void;
}

/** A clear error for an argument that is not a Float32Array or Float64Array. */
export function checkFloatArray(buf: unknown, what: string): asserts buf is FloatArray {
  if (!(buf instanceof Float32Array) && !(buf instanceof Float64Array)) {
    throw new TypeError(`${what}: expected a Float32Array or a Float64Array, got ${describe(buf)}`);
  }
}

export function checkRows(rows: unknown): asserts rows is Float64Array {
  if (!(rows instanceof Float64Array)) throw new TypeError(`allGatherRows: rows must be a Float64Array, got ${describe(rows)}`);
}

export function checkTypedArray(buf: unknown, what: string): asserts buf is CollectiveArray {
  if (!ArrayBuffer.isView(buf) || buf instanceof DataView) throw new TypeError(`${what}: expected a typed array, got ${describe(buf)}`);
}

export function checkRoot(root: number, size: number, what: string): void {
  if (!Number.isInteger(root) || root < 0 || root >= size) throw new RangeError(`${what}: root must be a rank in [0, ${size}), got ${root}`);
}

/** A DeferredCollective that runs start() at its ready() and resolves with the seconds it returns; a second ready() throws. */
export function readyOnce(what: string, start: () => Promise<number> | void): DeferredCollective {
  let resolve!: (s: number | Promise<number>) => void;
  const done = new Promise<number>((res) => (resolve = res));
  let called = false;
  return {
    done,
    ready() {
      if (called) throw new Error(`${what}: ready() was called twice`);
      called = true;
      resolve(start() ?? 0);
    },
  };
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'an object';
  return typeof x;
}

/** One process, rank 0 of 1: what a run not launched under MPI uses. */
export function singleProcessCommunicator(): Communicator {
  return {
    rank: 0,
    size: 1,
    backend: 'single',
    allReduceSum: (buf) => checkFloatArray(buf, 'allReduceSum'),
    allReduceSumIdentical: (buf) => checkFloatArray(buf, 'allReduceSumIdentical'),
    allReduceSumAsync: async (buf) => (checkFloatArray(buf, 'allReduceSumAsync'), 0),
    allReduceSumIdenticalAsync: async (buf) => (checkFloatArray(buf, 'allReduceSumIdenticalAsync'), 0),
    allReduceSumIdenticalDeferred: (buf) => {
      checkFloatArray(buf, 'allReduceSumIdenticalDeferred');
      return readyOnce('allReduceSumIdenticalDeferred', () => {});
    },
    allTrue: (ok) => ok,
    broadcast: (buf, root = 0) => {
      checkTypedArray(buf, 'broadcast');
      checkRoot(root, 1, 'broadcast');
    },
    allGatherRows: (rows) => {
      checkRows(rows);
      return { data: rows.slice(), counts: [rows.length] };
    },
    barrier: () => {},
    finalize: () => {},
  };
}
