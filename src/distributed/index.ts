// Collectives across processes (MPI) for data-parallel runs: docs/distributed.md.
export { singleProcessCommunicator, type Communicator, type GatheredRows, type FloatArray, type CollectiveArray, type DeferredCollective } from './communicator.js';
export { mpiLaunchFromEnv, type MpiLaunch } from './launch.js';
export { loadMpi, mpiAddonPath, MPI_ADDON_PATH, MpiUnavailableError, type MpiCommunicator, type LoadMpiOptions } from './mpi.js';
export { communicatorFromEnv } from './from-env.js';
