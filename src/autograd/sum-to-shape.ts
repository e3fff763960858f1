// The gradient of a broadcast: summed back to the shape of the input that was broadcast. Backward
// rules run under noGrad, so this records no node and needs no op of its own: it runs the 'sum'
// kernel by name (src/kernels/reduce registers it). That keeps the broadcasting ops (the copies,
// elementwise) below the reductions, whose own gradients broadcast.
import { Tensor, viewOf } from './tensor.js';
import { runOp } from './op.js';
import { isGradEnabled } from './scope.js';
import { type Shape, broadcastAxes, sameShape } from './shape.js';

/** Sums a broadcast gradient g back to `shape`, one 'sum' kernel per broadcast axis, innermost first. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  if (isGradEnabled() && g.requiresGrad) throw new Error('sumToShape records no graph: call it from a backward rule (under noGrad)');
  const axes = broadcastAxes(shape, g.shape);
  let y = g;
  for (let k = axes.length - 1; k >= 0; k--) {
    const next = runOp('sum', [y], { axis: axes[k] });
    if (y !== g) y.dispose();
    y = next;
  }
  const out = viewOf(y, shape);
  if (y !== g) y.dispose();
  return out;
}
