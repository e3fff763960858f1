// TRL DPOTrainer's options that reach its loss types beyond sigmoid (v1.9.0's _compute_loss):
// f_divergence_type and f_alpha_divergence_coef (the scores the types read), use_weighting (WPO, on
// each type's per-pair losses) and ld_alpha (LD-DPO, on the log-probs). A relpo loss of the DPO
// family offers those TRL applies to its type by spreading these defaults, help lines and choices,
// and declares their needs with dpoOptionNeeds, so that a config without them pays nothing.
import type { LossNeeds } from './types.js';
import { F_DIVERGENCE_CHOICES, F_DIVERGENCE_DEFAULTS, F_DIVERGENCE_HELP, type FDivergenceConfig } from './f-divergence.js';
import { WPO_DEFAULTS, WPO_HELP, wpoNeeds, type WpoConfig } from './wpo.js';
import { LD_DPO_DEFAULTS, LD_DPO_HELP, ldDpoNeeds, validateLdAlpha, type LdDpoConfig } from './ld-dpo.js';

export type DpoOptions = FDivergenceConfig & WpoConfig & LdDpoConfig;

export const DPO_OPTION_DEFAULTS: DpoOptions = { ...F_DIVERGENCE_DEFAULTS, ...WPO_DEFAULTS, ...LD_DPO_DEFAULTS };
export const DPO_OPTION_HELP = { ...F_DIVERGENCE_HELP, ...WPO_HELP, ...LD_DPO_HELP };
export const DPO_OPTION_CHOICES = F_DIVERGENCE_CHOICES;

/** A loss's needs over `base` under these options: WPO's weights, LD-DPO's verbose weight, when on. */
export function dpoOptionNeeds(base: LossNeeds, c: Partial<WpoConfig & LdDpoConfig>): LossNeeds {
  return { ...base, ...wpoNeeds(c), ...ldDpoNeeds(c) };
}

/** The widest needs of a loss with WPO: what `needs` declares. */
export function withWpoWeights(base: LossNeeds): LossNeeds {
  return { ...base, wpoWeights: true };
}

export function validateDpoOptions(lossName: string, c: Partial<LdDpoConfig>): void {
  if (c.ldAlpha !== undefined) validateLdAlpha(lossName, { ldAlpha: c.ldAlpha });
}
