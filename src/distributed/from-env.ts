// The communicator for this process: MPI's when an MPI launcher started more than one rank,
// else the single-process one.
import { singleProcessCommunicator, type Communicator } from './communicator.js';
import { mpiLaunchFromEnv, processEnv } from './launch.js';
import { loadMpi, MpiUnavailableError, type LoadMpiOptions } from './mpi.js';

/** (A browser has no process, and so no launcher: one process.) */
export function communicatorFromEnv(env: NodeJS.ProcessEnv = processEnv(), options: LoadMpiOptions = {}): Communicator {
  const launch = mpiLaunchFromEnv(env);
  if (!launch || launch.size === 1) return singleProcessCommunicator();
  const as = `rank ${launch.rank} of ${launch.size} (${launch.source}=${launch.size})`;
  let comm;
  try {
    comm = loadMpi(options);
  } catch (e) {
    if (e instanceof MpiUnavailableError) throw new MpiUnavailableError(`relpo was launched as ${as}, but ${e.message}`);
    throw e;
  }
  // An addon built against another MPI than the launcher's starts each rank alone (size 1).
  if (comm.size !== launch.size || comm.rank !== launch.rank) {
    throw new MpiUnavailableError(`relpo was launched as ${as}, but MPI (${comm.library}) sees rank ${comm.rank} of ${comm.size}: the addon was built against another MPI than the launcher's; launch with that MPI's mpirun, or rebuild with \`npm run build:mpi\` using the launcher's MPI`);
  }
  return comm;
}
