// Differentiable RoPE. The rotation is orthogonal, so its gradient is its transpose: the same
// kernel rotating dy by −θ. positions and invFreq get no gradient.
import { Tensor } from '../../autograd/tensor.js';
import { runOp, runOpMulti } from '../../autograd/op.js';
import { isGradEnabled } from '../../autograd/scope.js';
import { type RopeAttrs, ropeLayout, ropePairLayout } from './contract.js';

/**
 * Rotates x [B, H, T, D] by position (Hugging Face's apply_rotary_pos_emb, rotate-half): the first
 * rotaryDim dims of each head rotate in pairs (j, j + rotaryDim/2) by θ = position · invFreq[j],
 * the rest pass through. positions: int32 [B, T] or [T]. invFreq: [rotaryDim / 2], from
 * ropeFrequencies(config) in src/models/rope-config.ts (rotaryDim defaults to twice its length). inverse rotates by −θ.
 */
export function applyRope(x: Tensor, positions: Tensor, invFreq: Tensor, rotaryDim = 2 * invFreq.size, inverse = false): Tensor {
  ropeLayout(x, positions, invFreq, rotaryDim);
  return runOp<RopeAttrs>('applyRope', [x, positions, invFreq], { rotaryDim, inverse }, (dy, { inputs: [, pos, freq] }) => [
    applyRope(dy, pos, freq, rotaryDim, !inverse),
    null,
    null,
  ], { inputs: [1, 2] });
}

/**
 * applyRope of queries and keys (same batch, sequence and head_dim; heads may differ): one launch
 * where no gradient is recorded (a decoding step), the same values bit for bit as two applyRope
 * calls; with a gradient to record, those two calls.
 */
export function applyRopePair(q: Tensor, k: Tensor, positions: Tensor, invFreq: Tensor, rotaryDim = 2 * invFreq.size): [Tensor, Tensor] {
  ropePairLayout(q, k, positions, invFreq, rotaryDim);
  if (isGradEnabled() && (q.requiresGrad || k.requiresGrad)) return [applyRope(q, positions, invFreq, rotaryDim), applyRope(k, positions, invFreq, rotaryDim)];
  const [qr, kr] = runOpMulti<RopeAttrs>('applyRopePair', [q, k, positions, invFreq], { rotaryDim, inverse: false });
  return [qr, kr];
}
