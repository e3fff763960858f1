// What one kernel launch costs, so benchmarks can report GFLOP/s and GB/s against the device's
// ceiling. Each family's contract.ts has a cost function returning this.
export interface KernelCost {
  /** Floating-point operations (exp, log and division count as one each). */
  flops: number;
  /** Compulsory bytes: every input element read once, every output element written once. */
  bytes: number;
}
