// The MPI communicator: the native addon (native/mpi, built by `npm run build:mpi`) loaded on
// demand, so relpo runs without MPI. Loading it starts MPI (MPI_Init) and makes a failure on one
// rank end the whole job, naming the rank, instead of leaving the others blocked in a collective.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { checkFloatArray, checkRoot, checkRows, checkTypedArray, type CollectiveArray, type Communicator, type FloatArray } from './communicator.js';

type ReduceOp = 'sum' | 'min' | 'max';

/** What native/mpi/relpo_mpi.c exports. */
interface MpiAddon {
  init(): { rank: number; size: number; threadLevel: number; library: string };
  allReduce(buf: FloatArray, op: ReduceOp): void;
  reduce(buf: FloatArray, root: number, op: ReduceOp): void;
  /** root < 0: MPI_Allreduce; else MPI_Reduce to root, then MPI_Bcast from it. Resolves with the seconds in MPI. */
  allReduceAsync(buf: FloatArray, op: ReduceOp, root: number): Promise<number>;
  /** allReduceAsync whose ticket is taken now but which runs only after ready(ticket). */
  allReduceDeferred(buf: FloatArray, op: ReduceOp, root: number): { done: Promise<number>; ticket: number };
  ready(ticket: number): void;
  broadcast(buf: CollectiveArray, root: number): void;
  allGatherRows(rows: Float64Array): { data: Float64Array; counts: Int32Array };
  barrier(): void;
  abort(code: number): never;
  finalize(): void;
  state(): { initialized: boolean; finalized: boolean };
}

export interface MpiCommunicator extends Communicator {
  readonly backend: 'mpi';
  /** MPI_Get_library_version's text, e.g. "Open MPI v4.1.4, …". */
  readonly library: string;
  /** The thread level MPI provided (MPI_THREAD_SERIALIZED was asked for). */
  readonly threadLevel: number;
}

export interface LoadMpiOptions {
  /** The built addon; default RELPO_MPI_ADDON, else native/mpi/build/Release/relpo_mpi.node. */
  addonPath?: string;
  /** End every rank (MPI_Abort) when this one throws uncaught or exits non-zero; default true. */
  abortOnFailure?: boolean;
}

/** Where `npm run build:mpi` puts the addon (from dist/src/distributed/). */
export const MPI_ADDON_PATH = fileURLToPath(new URL('../../../native/mpi/build/Release/relpo_mpi.node', import.meta.url));
export const BUILD_MPI_HINT = "build it with `npm run build:mpi` (after `sudo apt-get install openmpi-bin libopenmpi-dev build-essential`, or loading a cluster's MPI module)";

export class MpiUnavailableError extends Error {
  override name = 'MpiUnavailableError';
}

export function mpiAddonPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.RELPO_MPI_ADDON || MPI_ADDON_PATH;
}

let loaded: MpiCommunicator | null = null;

/**
 * Loads the addon and starts MPI (once per process; later calls return the same communicator).
 * Throws MpiUnavailableError, saying how to build it, when the addon is missing or does not load.
 */
export function loadMpi(options: LoadMpiOptions = {}): MpiCommunicator {
  if (loaded) return loaded;
  const path = options.addonPath ?? mpiAddonPath();
  if (!existsSync(path)) throw new MpiUnavailableError(`the MPI addon is not built (${path} is missing): ${BUILD_MPI_HINT}`);
  let addon: MpiAddon;
  try {
    addon = createRequire(import.meta.url)(path) as MpiAddon;
  } catch (e) {
    throw new MpiUnavailableError(`the MPI addon ${path} did not load (${(e as Error).message}): rebuild it against this machine's MPI with \`npm run build:mpi\``);
  }
  const info = addon.init();
  loaded = mpiCommunicator(addon, info);
  if (options.abortOnFailure ?? true) abortJobOnFailure(addon, loaded);
  return loaded;
}

function mpiCommunicator(addon: MpiAddon, info: ReturnType<MpiAddon['init']>): MpiCommunicator {
  const { rank, size, library, threadLevel } = info;
  return {
    rank,
    size,
    backend: 'mpi',
    library,
    threadLevel,
    allReduceSum(buf) {
      checkFloatArray(buf, 'allReduceSum');
      addon.allReduce(buf, 'sum');
    },
    allReduceSumIdentical(buf) {
      checkFloatArray(buf, 'allReduceSumIdentical');
      addon.reduce(buf, 0, 'sum');
      addon.broadcast(buf, 0);
    },
    async allReduceSumAsync(buf) {
      checkFloatArray(buf, 'allReduceSumAsync');
      return addon.allReduceAsync(buf, 'sum', -1);
    },
    async allReduceSumIdenticalAsync(buf) {
      checkFloatArray(buf, 'allReduceSumIdenticalAsync');
      return addon.allReduceAsync(buf, 'sum', 0);
    },
    allReduceSumIdenticalDeferred(buf) {
      checkFloatArray(buf, 'allReduceSumIdenticalDeferred');
      const { done, ticket } = addon.allReduceDeferred(buf, 'sum', 0);
      let called = false;
      return {
        done,
        ready() {
          if (called) throw new Error('allReduceSumIdenticalDeferred: ready() was called twice');
          called = true;
          addon.ready(ticket);
        },
      };
    },
    allTrue(ok) {
      const flag = new Float64Array([ok ? 1 : 0]);
      addon.allReduce(flag, 'min');
      return flag[0] === 1;
    },
    broadcast(buf, root = 0) {
      checkTypedArray(buf, 'broadcast');
      checkRoot(root, size, 'broadcast');
      addon.broadcast(buf, root);
    },
    allGatherRows(rows) {
      checkRows(rows);
      const { data, counts } = addon.allGatherRows(rows);
      return { data, counts: [...counts] };
    },
    barrier: () => addon.barrier(),
    finalize: () => addon.finalize(),
  };
}

/**
 * A rank that throws, rejects unhandled or exits non-zero ends the job (MPI_Abort) with a message
 * naming it; the others would otherwise wait in their next collective for ever. A clean exit
 * finalizes MPI (mpirun counts a rank that exits without MPI_Finalize as failed).
 */
function abortJobOnFailure(addon: MpiAddon, comm: MpiCommunicator): void {
  const who = `rank ${comm.rank} of ${comm.size}`;
  // An unhandled rejection arrives here too (Node's default), and so does an ES module's top-level throw.
  process.on('uncaughtException', (error) => {
    process.stderr.write(`relpo: ${who} failed: ${error?.stack ?? String(error)}\nrelpo: ${who} ends the job (MPI_Abort)\n`);
    addon.abort(1);
  });
  process.on('exit', (code) => {
    const { initialized, finalized } = addon.state();
    if (!initialized || finalized) return;
    if (code === 0) return addon.finalize();
    process.stderr.write(`relpo: ${who} exited with code ${code}; it ends the job (MPI_Abort)\n`);
    addon.abort(code);
  });
}
