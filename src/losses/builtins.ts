// The built-in losses, registered in the order docs/losses.md lists them.
import type { LossConfig, PreferenceLoss } from './types.js';
import { registerLoss } from './registry.js';
import { rpo } from './rpo.js';
import { rpoSimpo } from './rpo-simpo.js';
import { dpo } from './dpo.js';
import { ipo } from './ipo.js';
import { hinge } from './hinge.js';
import { robust } from './robust.js';
import { bcoPair } from './bco-pair.js';
import { sppoHard } from './sppo-hard.js';
import { ncaPair } from './nca-pair.js';
import { apoZero } from './apo-zero.js';
import { apoDown } from './apo-down.js';
import { exoPair } from './exo-pair.js';
import { discopop } from './discopop.js';
import { aot } from './aot.js';
import { aotUnpaired } from './aot-unpaired.js';
import { sigmoidNorm } from './sigmoid-norm.js';
import { simpo } from './simpo.js';
import { cpo } from './cpo.js';
import { orpo } from './orpo.js';
import { kto } from './kto.js';
import { sft } from './sft.js';
import { slic } from './slic.js';
import { apoZeroUnpaired } from './apo-zero-unpaired.js';

export const builtinLosses = [
  rpo, rpoSimpo, dpo, ipo, hinge, robust, bcoPair, sppoHard, ncaPair, apoZero, apoDown, exoPair, discopop,
  aot, aotUnpaired, sigmoidNorm, simpo, cpo, slic, orpo, kto, apoZeroUnpaired, sft,
] as unknown as readonly PreferenceLoss<LossConfig>[];

for (const loss of builtinLosses) registerLoss(loss);
