// LD-DPO (Liu et al., 2024, arXiv:2409.06411), as TRL's DPOTrainer applies ld_alpha to every loss
// type: the log-probs every loss reads have each pair's verbose part (the longer answer's tokens past
// the shorter one's length) weighted by α. The trainer puts the weights in the completion mask
// (LossNeeds.verboseWeight), so a loss offering the option only declares it.
import type { LossNeeds } from './types.js';
import { inRange } from './checks.js';

export type LdDpoConfig = { ldAlpha: number };

export const LD_DPO_DEFAULTS: LdDpoConfig = { ldAlpha: 1 };
export const LD_DPO_HELP = { ldAlpha: "LD-DPO: weight in [0, 1] of the tokens past the shorter answer's length; 1: none (TRL ld_alpha)" };

/** The verbose-part weight the trainer must apply, when it is not 1 (a config without the key: none). */
export function ldDpoNeeds({ ldAlpha = 1 }: Partial<LdDpoConfig>): Partial<LossNeeds> {
  return ldAlpha !== 1 ? { verboseWeight: ldAlpha } : {};
}

export function validateLdAlpha(lossName: string, { ldAlpha }: LdDpoConfig): void {
  inRange(lossName, 'ldAlpha', ldAlpha, 0, 1);
}
