// The single-process communicator, launch detection and the missing-addon error: no MPI needed.
import test from 'ava';
import { communicatorFromEnv, mpiLaunchFromEnv, MpiUnavailableError, singleProcessCommunicator } from '../../src/distributed/index.js';

test('the single-process communicator is rank 0 of 1 and every collective is the identity', (t) => {
  const comm = singleProcessCommunicator();
  t.like(comm, { rank: 0, size: 1, backend: 'single' });
  const f32 = Float32Array.from([1.5, -2, 3]);
  comm.allReduceSum(f32);
  t.deepEqual([...f32], [1.5, -2, 3]);
  const f64 = Float64Array.from([0.1, 0.2]);
  comm.allReduceSumIdentical(f64);
  t.deepEqual([...f64], [0.1, 0.2]);
  const ints = Int32Array.from([4, 5]);
  comm.broadcast(ints, 0);
  t.deepEqual([...ints], [4, 5]);
  const rows = Float64Array.from([1, 2, 3]);
  const gathered = comm.allGatherRows(rows);
  t.deepEqual({ data: [...gathered.data], counts: gathered.counts }, { data: [1, 2, 3], counts: [3] });
  rows[0] = 9;
  t.is(gathered.data[0], 1, 'the gathered rows are a copy, as MPI gives');
  t.true(comm.allTrue(true));
  t.false(comm.allTrue(false));
  comm.barrier();
  comm.finalize();
});

test('the single-process communicator refuses what MPI would: a wrong type, a root out of range', (t) => {
  const comm = singleProcessCommunicator();
  t.throws(() => comm.allReduceSum(Int32Array.from([1]) as unknown as Float32Array), { message: /allReduceSum: expected a Float32Array or a Float64Array, got Int32Array/ });
  t.throws(() => comm.allReduceSumIdentical([1] as unknown as Float64Array), { message: /allReduceSumIdentical: .* got Array/ });
  t.throws(() => comm.broadcast(new Float64Array(1), 1), { message: /broadcast: root must be a rank in \[0, 1\), got 1/ });
  t.throws(() => comm.broadcast(new DataView(new ArrayBuffer(4)) as unknown as Uint8Array), { message: /broadcast: expected a typed array, got DataView/ });
  t.throws(() => comm.allGatherRows(new Float32Array(2) as unknown as Float64Array), { message: /allGatherRows: rows must be a Float64Array, got Float32Array/ });
});

test('mpiLaunchFromEnv reads Open MPI, Hydra (PMI) and srun, and nothing else', (t) => {
  t.is(mpiLaunchFromEnv({}), null);
  t.is(mpiLaunchFromEnv({ PMIX_RANK: '0', SLURM_NTASKS: '4', SLURM_PROCID: '0' }), null, 'a batch script (no job step) is no launch');
  t.deepEqual(mpiLaunchFromEnv({ OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '1', PMI_SIZE: '9' }), { rank: 1, size: 2, source: 'OMPI_COMM_WORLD_SIZE' });
  t.deepEqual(mpiLaunchFromEnv({ PMI_SIZE: '4', PMI_RANK: '3' }), { rank: 3, size: 4, source: 'PMI_SIZE' });
  t.deepEqual(mpiLaunchFromEnv({ SLURM_STEP_NUM_TASKS: '8', SLURM_PROCID: '5' }), { rank: 5, size: 8, source: 'SLURM_STEP_NUM_TASKS' });
  t.throws(() => mpiLaunchFromEnv({ PMI_SIZE: 'two', PMI_RANK: '0' }), { message: /PMI_SIZE=two: not a number of ranks/ });
  t.throws(() => mpiLaunchFromEnv({ OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '2' }), { message: /OMPI_COMM_WORLD_RANK=2: not a rank of 2/ });
});

test('communicatorFromEnv: one process without a launcher or with one rank, without loading MPI', (t) => {
  t.is(communicatorFromEnv({}, { addonPath: '/nonexistent/relpo_mpi.node' }).backend, 'single');
  t.is(communicatorFromEnv({ OMPI_COMM_WORLD_SIZE: '1', OMPI_COMM_WORLD_RANK: '0' }, { addonPath: '/nonexistent/relpo_mpi.node' }).backend, 'single');
});

test('communicatorFromEnv: several ranks without the addon is an error saying how to build it', (t) => {
  const error = t.throws(() => communicatorFromEnv({ OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '1' }, { addonPath: '/nonexistent/relpo_mpi.node' }), { instanceOf: MpiUnavailableError });
  t.regex(error!.message, /launched as rank 1 of 2 \(OMPI_COMM_WORLD_SIZE=2\), but the MPI addon is not built \(\/nonexistent\/relpo_mpi.node is missing\)/);
  t.regex(error!.message, /npm run build:mpi.*apt-get install openmpi-bin libopenmpi-dev/);
});
