// TRL's loss_type names (DPOConfig, CPOConfig, KTOConfig; ORPO has a trainer of its own) and the
// relpo loss that computes the same formula (docs/losses.md, "TRL's names"). Where TRL's name is
// relpo's, it maps to itself.
import { nearestName } from './config.js';

export const TRL_LOSS_TYPES: Readonly<Record<string, string>> = Object.freeze({
  sigmoid: 'dpo',
  hinge: 'hinge',
  ipo: 'ipo',
  exo_pair: 'exo_pair',
  nca_pair: 'nca_pair',
  robust: 'robust',
  bco_pair: 'bco_pair',
  sppo_hard: 'sppo_hard',
  aot: 'aot',
  aot_pair: 'aot_unpaired',
  discopop: 'discopop',
  apo_zero: 'apo_zero',
  apo_down: 'apo_down',
  sft: 'sft',
  sigmoid_norm: 'sigmoid_norm',
  simpo: 'simpo',
  kto: 'kto',
  orpo: 'orpo',
});

/** The relpo loss behind a TRL loss_type; an unknown type is an error with the nearest name and the list. */
export function lossOfTrlType(type: string): string {
  const name = TRL_LOSS_TYPES[type];
  if (name) return name;
  const known = Object.keys(TRL_LOSS_TYPES);
  const near = nearestName(type, known);
  throw new Error(`unknown TRL loss_type '${type}'${near ? ` (did you mean '${near}'?)` : ''}; TRL's types relpo computes: ${known.join(', ')}`);
}
