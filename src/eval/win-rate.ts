// Win rates from pairwise verdicts, with a Wilson score interval (the binomial interval that stays
// inside [0, 1] and behaves at small counts, unlike the normal approximation).

/** One pairwise verdict: the candidate won, lost, tied, or the judge's reply could not be read. */
export type Verdict = 'win' | 'loss' | 'tie' | 'unparsed';

export interface WinRate {
  wins: number;
  losses: number;
  ties: number;
  unparsed: number;
  /** Verdicts counted: wins + losses + ties (unparsed replies are left out). */
  judged: number;
  /** (wins + ties / 2) / judged: a tie counts half, as AlpacaEval counts it. NaN when nothing was judged. */
  rate: number;
  /** 95% Wilson score interval of the rate. */
  low: number;
  high: number;
}

/** The Wilson score interval of `successes` out of `n` at normal quantile z (1.96: 95%). */
export function wilsonInterval(successes: number, n: number, z = 1.96): { low: number; high: number } {
  if (n === 0) return { low: NaN, high: NaN };
  const p = successes / n, z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

export function winRate(verdicts: Verdict[]): WinRate {
  const count = (v: Verdict) => verdicts.filter((x) => x === v).length;
  const wins = count('win'), losses = count('loss'), ties = count('tie'), unparsed = count('unparsed');
  const judged = wins + losses + ties;
  const score = wins + ties / 2;
  return { wins, losses, ties, unparsed, judged, rate: judged === 0 ? NaN : score / judged, ...wilsonInterval(score, judged) };
}
