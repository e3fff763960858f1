// What the benches run under mpirun share: their flags, medians, the slowest rank's medians, and a
// hash of gradients' bits (to check that two schedules give the same sums).
import type { Communicator } from '../src/distributed/index.js';
import type { Tensor } from '../src/index.js';

/** A reader of `--name value` on the command line: the value, else `fallback`. */
export function flagReader(args: string[] = process.argv.slice(2)): (name: string, fallback: string) => string {
  return (name, fallback) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : fallback;
  };
}

/** The median (the upper one of an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Each of this rank's numbers at the slowest rank: position by position, the largest over ranks. */
export function slowestRank(comm: Communicator, mine: Float64Array): number[] {
  const all = comm.allGatherRows(mine);
  return Array.from(mine, (_, i) => Math.max(...Array.from({ length: comm.size }, (_, k) => all.data[k * mine.length + i])));
}

/** A hash of the float32 gradients' bits, parameter by parameter. */
export async function gradientBitsHash(params: Tensor[]): Promise<number> {
  let h = 0;
  for (const p of params) for (const v of new Uint32Array((await p.grad!.data()).buffer)) h = (Math.imul(h, 31) + v) | 0;
  return h;
}
