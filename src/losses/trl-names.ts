// TRL's loss_type names and the relpo loss (with the config preset, where TRL's type is an option
// of a relpo loss) that computes the same formula (docs/losses.md, "TRL's names"). DPOTrainer's
// types (TRL v1.9.0, and v0.25's aot_pair) go by their bare names; CPOTrainer's and KTOTrainer's by
// '<trainer>:<type>' (their sigmoid, hinge and ipo differ from DPO's: no reference model), and bare
// too where the name is theirs alone. ORPO has a trainer of its own.
import { nearestName } from './config.js';
import type { ConfigValue } from './types.js';

export interface TrlLossType {
  /** The relpo loss. */
  loss: string;
  /** Its config keys that TRL's type implies (the user's own keys go over them). */
  config?: Readonly<Record<string, ConfigValue>>;
}

const to = (loss: string, config?: Record<string, ConfigValue>): TrlLossType => Object.freeze(config ? { loss, config: Object.freeze(config) } : { loss });

/** TRL's trainers whose loss_type names need the '<trainer>:' prefix when they clash with DPOConfig's. */
export const TRL_TRAINERS = ['dpo', 'cpo', 'kto'] as const;
export type TrlTrainer = (typeof TRL_TRAINERS)[number];

const cpoTypes = {
  'cpo:sigmoid': to('cpo', { lossType: 'sigmoid' }),
  'cpo:hinge': to('cpo', { lossType: 'hinge' }),
  'cpo:ipo': to('cpo', { lossType: 'ipo' }),
  'cpo:simpo': to('cpo', { lossType: 'simpo' }),
  // CPOConfig turns alphapo into simpo with cpo_alpha 0; AlphaPO's α is its own key (alpha).
  'cpo:alphapo': to('cpo', { lossType: 'simpo', cpoAlpha: 0 }),
};

export const TRL_LOSS_TYPES: Readonly<Record<string, TrlLossType>> = Object.freeze({
  // DPOConfig.loss_type
  sigmoid: to('dpo'),
  hinge: to('hinge'),
  ipo: to('ipo'),
  exo_pair: to('exo_pair'),
  nca_pair: to('nca_pair'),
  robust: to('robust'),
  bco_pair: to('bco_pair'),
  sppo_hard: to('sppo_hard'),
  aot: to('aot'),
  aot_unpaired: to('aot_unpaired'),
  aot_pair: to('aot_unpaired'),
  discopop: to('discopop'),
  apo_zero: to('apo_zero'),
  apo_down: to('apo_down'),
  sft: to('sft'),
  sigmoid_norm: to('sigmoid_norm'),
  // CPOConfig.loss_type
  ...cpoTypes,
  simpo: cpoTypes['cpo:simpo'],
  alphapo: cpoTypes['cpo:alphapo'],
  // KTOConfig.loss_type
  'kto:kto': to('kto'),
  'kto:apo_zero_unpaired': to('apo_zero_unpaired'),
  kto: to('kto'),
  apo_zero_unpaired: to('apo_zero_unpaired'),
  // ORPOTrainer
  orpo: to('orpo'),
});

/**
 * The relpo loss (and config preset) behind a TRL loss_type; `trainer` (cpo, kto) reads a bare name
 * as that trainer's. An unknown type is an error with the nearest name and the list.
 */
export function lossOfTrlType(type: string, trainer: TrlTrainer | '' = ''): TrlLossType {
  const qualified = (trainer === 'cpo' || trainer === 'kto') && !type.includes(':') ? `${trainer}:${type}` : type;
  const hit = TRL_LOSS_TYPES[qualified];
  if (hit) return hit;
  const known = Object.keys(TRL_LOSS_TYPES);
  const near = nearestName(qualified, known);
  throw new Error(`unknown TRL loss_type '${qualified}'${near ? ` (did you mean '${near}'?)` : ''}; TRL's types relpo computes: ${known.join(', ')}`);
}

/** The TRL loss_types that give `loss` (with any preset), for listings. */
export function trlTypesOf(loss: string): string[] {
  return Object.entries(TRL_LOSS_TYPES).filter(([, v]) => v.loss === loss).map(([k]) => k);
}
