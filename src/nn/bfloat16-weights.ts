// Frozen weights in bfloat16: a LoRA base (or any frozen Linear) at half the memory. Each weight is
// rounded once, to nearest even; its products widen it per use (matmulBfloat16Weight), so the
// arithmetic stays float32. Trainable tensors, norms and embeddings stay float32.
import { noGrad, tidy } from '../autograd/scope.js';
import { toBfloat16 } from '../kernels/bfloat16/op.js';
import { Module } from './module.js';
import { Linear } from './linear.js';

export interface Bfloat16Conversion {
  /** Weights converted. */
  tensors: number;
  /** Their bytes before (float32) and after (bfloat16). */
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Stores the weight of every Linear layer of `model` that takes no gradient in bfloat16 (after
 * applyLora: every adapted base layer, and the frozen lm_head). Call it after freezing; a weight
 * that later needs a gradient cannot have one.
 */
export function storeFrozenWeightsInBfloat16(model: Module): Bfloat16Conversion {
  const out: Bfloat16Conversion = { tensors: 0, bytesBefore: 0, bytesAfter: 0 };
  noGrad(() => {
    for (const [path, m] of model.namedModules()) {
      if (!(m instanceof Linear)) continue;
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
