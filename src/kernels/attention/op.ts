// Differentiable fused attention, and the same math as a composition of existing ops (the reference
// for tests and the peer for the fused-vs-unfused benchmark). Masks and shapes: see contract.ts.
import { Tensor } from '../../autograd/tensor.js';
import { runOpMulti } from '../../autograd/op.js';
import { arange, full, tensor } from '../../autograd/create.js';
import { cast, greater, less, lessEqual, maximum, mul, sub, tanh, where } from '../elementwise/op.js';
import { max } from '../reduce/op.js';
import { reshape } from '../copy/op.js';
import { matmul } from '../matmul/op.js';
import { softmax } from '../softmax/op.js';
import { indexSelect } from '../gather/op.js';
import { type AttentionAttrs, type AttentionOptions, attentionAttrs, attentionDims } from './contract.js';

export interface AttentionOpOptions extends AttentionOptions {
  /** int32 [B] valid lengths (right padding), on q's device. */
  keyPadding?: Tensor;
  /** WebGPU tile preset (ATTENTION_VERSIONS); chosen per kernel by default. */
  version?: number;
  /** WebGPU GQA backward strategy (see AttentionAttrs.splitGroups); chosen by grid size by default. */
  splitGroups?: boolean;
  /** WebGPU: head_dim columns staged per step (AttentionAttrs.headChunk); whole rows when they fit by default. */
  headChunk?: number;
}

/**
 * Fused scaled-dot-product attention: softmax(scale · q·kᵀ + mask) · v, one kernel forward and a
 * flash-style backward that recomputes P from the saved log-sum-exp (memory O(T·D) per head, never
 * a T×T buffer). q [B, H, T, D]; k, v [B, Hkv, T, D] with Hkv dividing H (grouped-query); options:
 * causal (default true), keyPadding (int32 [B] lengths, right padding), window (Mistral's sliding
 * window, with causal), scale (default 1/√D), softcap (Gemma-2's logit soft-capping,
 * softcap · tanh(scores / softcap) after the scale; 0 or absent: none). Queries that see no key output zeros. Gradients flow
 * to q, k and v (dK, dV summed over the query heads sharing a kv head); keyPadding gets none.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOpOptions = {}): Tensor {
  const pad = opts.keyPadding;
  const dims = attentionDims(q, k, v, pad);
  const attrs: AttentionAttrs = {
    ...attentionAttrs(dims.D, opts),
    ...(opts.version === undefined ? {} : { version: opts.version }),
    ...(opts.splitGroups === undefined ? {} : { splitGroups: opts.splitGroups }),
    ...(opts.headChunk === undefined ? {} : { headChunk: opts.headChunk }),
  };
  const inputs = pad ? [q, k, v, pad] : [q, k, v];
  const [o, lse] = runOpMulti<AttentionAttrs>('attention', inputs, attrs, ([dO], { inputs: ins, outputs: [out, l] }) => {
    // The log-sum-exp is internal (never handed out), so only dO arrives.
    if (!dO) return ins.map(() => null);
    const grads = runOpMulti<AttentionAttrs>('attentionBackward', [ins[0], ins[1], ins[2], out, dO, l, ...ins.slice(3)], attrs);
    const wanted = grads.map((g, i) => {
      if (ins[i].requiresGrad) return g;
      g.dispose();
      return null;
    });
    return pad ? [...wanted, null] : wanted;
  });
  // Without a graph node nothing will read the log-sum-exp again.
  if (!o.node) lse.dispose();
  return o;
}

/**
 * The same attention as a composition of existing ops: kv heads repeated with indexSelect (GQA),
 * S = scale · q·kᵀ (matmul with transposeB; soft-capped with tanh), masked positions filled with −Inf by where, softmax,
 * P·v. Rows with no visible key are softmaxed unmasked and multiplied by 0, so they output zeros
 * with zero (not NaN) gradients, as the fused kernel does. Materialises [B, H, T, T]: for tests and
 * benchmarks, not for long sequences.
 */
export function attentionUnfused(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOpOptions = {}): Tensor {
  const pad = opts.keyPadding;
  const { B, H, Hkv, T } = attentionDims(q, k, v, pad);
  const { causal, window, scale, softcap } = attentionAttrs(q.shape[3], opts);
  const device = q.device, dtype = q.dtype;
  let kr = k, vr = v;
  if (H !== Hkv) {
    const group = H / Hkv;
    const heads = tensor(Int32Array.from({ length: H }, (_, h) => Math.floor(h / group)), [H], { device, dtype: 'int32' });
    kr = indexSelect(k, 1, heads);
    vr = indexSelect(v, 1, heads);
  }
  let scores = mul(matmul(q, kr, { transposeB: true }), scale);
  if (softcap > 0) scores = mul(tanh(mul(scores, 1 / softcap)), softcap);
  // The causal/window part of the mask, built on the device from two position vectors (as a
  // PyTorch user would with torch.tril or a comparison of aranges): visible iff j ≤ i (causal) and
  // j > i − window. Building the T×T mask on the host instead cost 2.6 ms of JavaScript per call
  // at T = 512 and 40 ms at 2048, which made this baseline look slower than its kernels are.
  const rows = reshape(arange(0, T, 1, { device, dtype }), [1, 1, T, 1]);
  const cols = reshape(arange(0, T, 1, { device, dtype }), [1, 1, 1, T]);
  let visible = causal ? lessEqual(cols, rows) : full([1, 1, T, T], 1, { device, dtype });
  if (window > 0) visible = mul(visible, greater(cols, sub(rows, window)));
  if (pad) {
    const positions = tensor(Array.from({ length: T }, (_, j) => j), [1, 1, 1, T], { device, dtype });
    visible = mul(visible, less(positions, reshape(cast(pad, dtype), [B, 1, 1, 1])));
  }
  const anyVisible = max(visible, -1, true);
  const softmaxMask = maximum(visible, sub(1, anyVisible));
  const probs = mul(softmax(where(softmaxMask, scores, -Infinity), -1), anyVisible);
  return matmul(probs, vr);
}
