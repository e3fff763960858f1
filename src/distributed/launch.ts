// Whether this process was started by an MPI launcher, and as which rank of how many, from the
// environment the launcher sets (read before MPI starts, so a run without MPI never loads it).

export interface MpiLaunch {
  rank: number;
  size: number;
  /** The variable that told: OMPI_COMM_WORLD_SIZE, PMI_SIZE or SLURM_STEP_NUM_TASKS. */
  source: string;
}

// Open MPI's mpirun/mpiexec (and srun with Open MPI); MPICH's and Intel MPI's Hydra (and srun
// --mpi=pmi2); srun with any MPI plugin (SLURM_STEP_NUM_TASKS is set for a job step, not for the
// batch script around it).
const SOURCES = [
  ['OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_RANK'],
  ['PMI_SIZE', 'PMI_RANK'],
  ['SLURM_STEP_NUM_TASKS', 'SLURM_PROCID'],
] as const;

/** Node's environment; empty in a browser (no process there, and no MPI launcher). */
export function processEnv(): NodeJS.ProcessEnv {
  return (globalThis as { process?: NodeJS.Process }).process?.env ?? {};
}

/** The launch this environment describes, or null when no MPI launcher started this process. */
export function mpiLaunchFromEnv(env: NodeJS.ProcessEnv = processEnv()): MpiLaunch | null {
  for (const [sizeVar, rankVar] of SOURCES) {
    const sizeText = env[sizeVar];
    if (sizeText === undefined) continue;
    const size = Number(sizeText);
    const rank = Number(env[rankVar] ?? 0);
    if (!Number.isInteger(size) || size < 1) throw new Error(`${sizeVar}=${sizeText}: not a number of ranks`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw new Error(`${rankVar}=${env[rankVar]}: not a rank of ${size}`);
    return { rank, size, source: sizeVar };
  }
  return null;
}
