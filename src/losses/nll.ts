// The negative log-likelihood of the chosen answers, in the two forms losses use: TRL's (one
// cross-entropy over every chosen token of the batch, −Σπc / Σnc, optionally over the prompt's
// tokens too, as TRL's ORPOTrainer) and the per-row mean (mean(−πc/nc), relpo's earlier form).
import type { Tensor } from '../autograd/tensor.js';
import type { LossNeeds, PreferenceBatch } from './types.js';
import { requirePromptTokens, requireTokenCounts } from './checks.js';
import { div, mean, neg, sum } from './ops.js';

/** 'tokens': Σ over every chosen token / Σ tokens (TRL); 'rows': each row's per-token mean, then the mean over rows. */
export type NllAverage = 'tokens' | 'rows';
export const NLL_AVERAGES: readonly NllAverage[] = ['tokens', 'rows'];
export const NLL_AVERAGE_HELP = "'tokens': one cross-entropy over every chosen token of the batch (TRL); 'rows': each row's per-token NLL, then the mean over rows";

/** The chosen answers' NLL; `withPrompt` counts the prompt's tokens (after BOS) too. */
export function chosenNll(lossName: string, batch: PreferenceBatch, average: NllAverage, withPrompt = false): Tensor {
  const { logps, counts } = withPrompt
    ? requirePromptTokens(lossName, batch)
    : { logps: batch.chosen.policyLogps, counts: requireTokenCounts(lossName, batch, 'chosen') };
  return average === 'tokens' ? neg(div(sum(logps), sum(counts))) : mean(neg(div(logps, counts)));
}

/**
 * What the NLL adds to a loss's needs: token counts, the prompt's tokens when asked, and, in TRL's
 * form, rows coupled by the token sum (Σ over all rows' tokens / Σ tokens is not a mean of per-pair
 * terms, so under gradient accumulation it is evaluated once over the step's rows).
 */
export function withNllNeeds(needs: LossNeeds, average: NllAverage, withPrompt = false): LossNeeds {
  return {
    ...needs,
    tokenAverage: true,
    meanOverPairs: needs.meanOverPairs === true && average === 'rows',
    ...(withPrompt ? { promptTokens: true } : {}),
  };
}
