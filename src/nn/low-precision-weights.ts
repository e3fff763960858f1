// Frozen weights at lower precision: a LoRA base (or any frozen Linear) in bfloat16 (half of
// float32's memory) or NF4 (QLoRA's 4-bit NormalFloat, about a seventh). Each weight is converted
// once; its products widen it per use (matmulBfloat16Weight, matmulNf4Weight), so the arithmetic
// stays float32. Trainable tensors, norms and embeddings stay float32.
import { noGrad, tidy } from '../autograd/scope.js';
import { toBfloat16 } from '../kernels/bfloat16/op.js';
import { nf4Blocks, nf4Words } from '../kernels/nf4/contract.js';
import { Module } from './module.js';
import { Linear } from './linear.js';

export interface WeightConversion {
  /** Weights converted. */
  tensors: number;
  /** Their bytes before (float32) and after. */
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Stores the weight of every Linear layer of `model` that takes no gradient in bfloat16 (after
 * applyLora: every adapted base layer, and the frozen lm_head). Call it after freezing; a weight
 * that later needs a gradient cannot have one.
 */
export function storeFrozenWeightsInBfloat16(model: Module): WeightConversion {
  const out: WeightConversion = { tensors: 0, bytesBefore: 0, bytesAfter: 0 };
  noGrad(() => {
    for (const [path, m] of model.namedModules()) {
      if (!(m instanceof Linear) || m.nf4Weight) continue;
      const w = m.weight;
      if (w.requiresGrad || w.dtype !== 'float32') continue;
      model.swapParameter(path ? `${path}.weight` : 'weight', tidy(() => toBfloat16(w)));
      out.tensors++;
      out.bytesBefore += 4 * w.size;
      out.bytesAfter += 2 * w.size;
    }
  });
  return out;
}

/**
 * Holds the weight of every Linear layer of `model` that takes no gradient in NF4, QLoRA's 4-bit
 * NormalFloat (blocks of 64 with a float32 maximum each: 4.5 bits per value). Call it after
 * applyLora. The model computes with the dequantized values (Linear.quantizeWeightToNf4).
 */
export function storeFrozenWeightsInNf4(model: Module): WeightConversion {
  const out: WeightConversion = { tensors: 0, bytesBefore: 0, bytesAfter: 0 };
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof Linear) || m.nf4Weight) continue;
    const w = m.weight;
    if (w.requiresGrad) continue;
    const n = w.size;
    m.quantizeWeightToNf4();
    out.tensors++;
    out.bytesBefore += 4 * n;
    out.bytesAfter += 4 * (nf4Words(n) + nf4Blocks(n));
  }
  return out;
}
