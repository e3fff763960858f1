// LD-DPO (Liu et al., 2024, "Length Desensitization in Directed Preference Optimization"), as TRL's
// DPOTrainer computes it with ld_alpha: each pair's answers are split at the shorter answer's
// completion length; the tokens up to it (the public part) weigh 1 in the sequence log-probs, those
// past it (the verbose part of the longer answer) weigh α. The weights replace the completion mask
// of the policy's and the reference's log-probs (TokenizedRows.completionWeights).
import type { TokenizedRows } from '../data/tokenize.js';

/** The completion positions of row b as sideLogps scores them: targets t with P ≤ t + 1 < L. */
function completionPositions(rows: TokenizedRows, b: number): [number, number] {
  const L = rows.rows[b].length, P = rows.promptLengths[b];
  return [Math.max(P, 1) - 1, L - 1];
}

/** Sets completionWeights on both sides of a paired batch: 1 up to the pair's shorter completion, α past it. */
export function desensitizeLengths(chosen: TokenizedRows, rejected: TokenizedRows, alpha: number): void {
  if (chosen.rows.length !== rejected.rows.length) {
    throw new Error(`LD-DPO (verbose weight ${alpha}) needs paired rows, got ${chosen.rows.length} chosen and ${rejected.rows.length} rejected`);
  }
  const spans = (rows: TokenizedRows) => rows.rows.map((_, b) => completionPositions(rows, b));
  const c = spans(chosen), r = spans(rejected);
  for (const [rows, own] of [[chosen, c], [rejected, r]] as const) {
    const T = rows.length;
    const w = new Float64Array(rows.rows.length * T);
    own.forEach(([from, to], b) => {
      // TRL: comp_pos = cumsum(mask); shared where 1 ≤ comp_pos ≤ min(n_c, n_r), tail past it.
      const shared = Math.min(c[b][1] - c[b][0], r[b][1] - r[b][0]);
      for (let t = from; t < to; t++) w[b * T + t] = t - from < shared ? 1 : alpha;
    });
    rows.completionWeights = w;
  }
}
