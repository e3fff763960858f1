// The negative log-likelihood of the chosen answers, in the forms losses use: TRL's (one
// cross-entropy over every chosen token of the batch, −Σπc / Σnc, optionally over the prompt's
// tokens too, as TRL's ORPOTrainer), the per-row mean (mean(−πc/nc), relpo's earlier form) and the
// RPO authors' SFTTrainer's (each row's sequence sum, then the mean over rows, mean(−πc)).
import type { Tensor } from '../autograd/tensor.js';
import type { LossNeeds, PreferenceBatch } from './types.js';
import { requirePromptTokens, requireTokenCounts, unweightedChosenLogps } from './checks.js';
import { div, mean, neg, sum } from './ops.js';

/**
 * 'tokens': Σ over every chosen token / Σ tokens (TRL); 'rows': each row's per-token mean, then the
 * mean over rows; 'sequences': each row's sum, then the mean over rows (the RPO authors' code).
 */
export type NllAverage = 'tokens' | 'rows' | 'sequences';
export const NLL_AVERAGES: readonly NllAverage[] = ['tokens', 'rows', 'sequences'];
export const NLL_AVERAGE_HELP =
  "'tokens': one cross-entropy over every chosen token of the batch (TRL); 'rows': each row's per-token NLL, then the mean over rows; 'sequences': each row's summed NLL, then the mean over rows (the RPO authors' SFTTrainer)";

/**
 * The chosen answers' NLL; `withPrompt` counts the prompt's tokens (after BOS) too. Every token
 * counts 1, as in TRL's cross-entropy, also under LD-DPO's verbose weight (unweightedChosenLogps).
 */
export function chosenNll(lossName: string, batch: PreferenceBatch, average: NllAverage, withPrompt = false): Tensor {
  if (average === 'sequences') return mean(neg(withPrompt ? requirePromptTokens(lossName, batch).logps : unweightedChosenLogps(batch)));
  const { logps, counts } = withPrompt
    ? requirePromptTokens(lossName, batch)
    : { logps: unweightedChosenLogps(batch), counts: requireTokenCounts(lossName, batch, 'chosen') };
  return average === 'tokens' ? neg(div(sum(logps), sum(counts))) : mean(neg(div(logps, counts)));
}

/**
 * What the NLL adds to a loss's needs: token counts (but for the sequence sums), the prompt's
 * tokens when asked, and, in TRL's form, rows coupled by the token sum (Σ over all rows' tokens /
 * Σ tokens is not a mean of per-pair terms, so under gradient accumulation it is evaluated once
 * over the step's rows).
 */
export function withNllNeeds(needs: LossNeeds, average: NllAverage, withPrompt = false): LossNeeds {
  return {
    ...needs,
    tokenAverage: needs.tokenAverage || average !== 'sequences',
    meanOverPairs: needs.meanOverPairs === true && average !== 'tokens',
    ...(withPrompt ? { promptTokens: true } : {}),
  };
}
