// Activation checkpointing (torch.utils.checkpoint): a block's forward runs without recording its
// graph, so none of its intermediate tensors outlive it; backward runs the block again with the
// graph on and back-propagates through that. Memory for a deep model drops from every layer's
// activations to each block's input, for the price of one more forward per block.
import { Tensor, viewOf } from './tensor.js';
import { recordNode } from './op.js';
import { backward } from './backward.js';
import { enableGrad, isGradEnabled, noGrad, tidy } from './scope.js';
import { isFloat } from './dtype.js';
import { getDropoutState, setDropoutState } from './random.js';

/**
 * fn(...inputs) with its intermediate activations recomputed during backward instead of kept.
 * `params` are the trainable tensors fn reads besides its inputs (a layer's parameters): their
 * gradients are accumulated into .grad when backward reaches the block. fn must compute the same
 * thing when run again: dropout inside is replayed with the same seeds (the dropout stream's state is
 * saved with the block), other sampling is not; tensors it captures must stay alive until backward.
 */
export function checkpoint(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], params: Tensor[]): Tensor {
  const trainable = params.filter((p) => p.requiresGrad);
  if (!isGradEnabled() || !(inputs.some((x) => x.requiresGrad) || trainable.length > 0)) return fn(...inputs);
  // The block's dropout seeds are replayed when it is recomputed (torch saves the RNG state too).
  const seeds = getDropoutState();
  const out = tidy(() => noGrad(() => fn(...inputs)));
  // The graph keeps the block's inputs (not its parameters, which the model holds anyway).
  const saves = { inputs: inputs.map((_, i) => i) };
  recordNode('checkpoint', [...inputs, ...trainable], [out], (dys, ctx) => {
    const dy = dys[0];
    const none = () => [...inputs, ...trainable].map(() => null);
    if (!dy) return none();
    return tidy(() => {
      // The inputs again as leaves of a fresh graph: backward through the recomputed block leaves
      // their gradients in .grad (and the parameters', where they belong).
      const leaves = ctx.inputs.slice(0, inputs.length).map((x) => {
        const leaf = viewOf(x, x.shape);
        if (x.requiresGrad && isFloat(x.dtype)) leaf.requiresGrad = true;
        return leaf;
      });
      const now = getDropoutState();
      setDropoutState(seeds);
      let again: Tensor;
      try {
        again = enableGrad(() => fn(...leaves));
      } finally {
        setDropoutState(now);
      }
      if (!again.requiresGrad) return none();
      backward(again, dy);
      const dxs = leaves.map((l) => l.grad ?? null);
      for (const l of leaves) l.grad = null;
      return [...dxs, ...trainable.map(() => null)];
    });
  }, saves);
  return out;
}
