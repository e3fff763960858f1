// The norm-relative difference the float32 comparisons use: ‖got − want‖ / ‖want‖.
export function normRel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < want.length; i++) {
    d += (got[i] - want[i]) ** 2;
    n += want[i] ** 2;
  }
  return Math.sqrt(d / n);
}
