// Reverse mode: one topological order of the graph under `root`, walked backwards once, each node
// turning its outputs' gradients into its inputs' gradients. Leaves that require grad collect
// theirs in .grad (summed across calls, as in PyTorch). With onLeafGrad, each leaf's .grad is
// final as soon as the last node that reads it has run, and the hook hears of it then (DDP's
// per-parameter hook: the gradient sum of the last layers starts while the first ones' run).
import { Tensor, viewOf, nextTensorId, type GraphNode } from './tensor.js';
import { keep, noGrad, tidy } from './scope.js';
import { runOp, runOnDevice } from './op.js';
import { sameShape } from './shape.js';
import { releaseNode } from './graph.js';

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again (PyTorch's retain_graph). */
  retainGraph?: boolean;
  /**
   * Called once for every leaf that requires grad and is read by a node of the graph (the root,
   * when a leaf, at the end), as soon as its .grad is final for this backward: right after the
   * last node that reads it has run, so in the same order on every run of the same graph (the
   * last layers' first). .grad gets the same bits as without it. Should backward throw, the
   * leaves already handed to the hook keep the gradient added to them.
   */
  onLeafGrad?: (leaf: Tensor) => void;
}

export function backward(root: Tensor, seed?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error(`backward() on a tensor that does not require grad (${root})`);
  if (!seed && root.size !== 1) {
    throw new Error(`backward() without a gradient needs a one-element tensor; this one has shape [${root.shape}]`);
  }
  if (seed && !sameShape(seed.shape, root.shape)) {
    throw new Error(`backward(): gradient shape [${seed.shape}] does not match tensor shape [${root.shape}]`);
  }
  noGrad(() => {
    const order = topologicalNodes(root);
    const grads = new Map<Tensor, Tensor>();
    const hook = opts.onLeafGrad;
    const finalAt = hook ? lastReaders(order) : undefined;
    grads.set(root, seed ? viewOf(seed, seed.shape) : runOnDevice(root.device, 'fill', { value: 1, shape: root.shape, dtype: root.dtype }));

    try {
      for (let k = order.length - 1; k >= 0; k--) {
        const node = order[k];
        const outputs = node.outputs.map((w) => w.deref());
        const dys = outputs.map((o) => (o ? grads.get(o) ?? null : null));
        if (dys.every((d) => d === null)) {
          if (finalAt) finishLeaves(grads, finalAt.get(k), hook!);
          continue;
        }
        const mark = nextTensorId();
        // Each rule in its own tidy: its temporaries go at once, whatever scope backward() is in.
        const dxs = tidy(() => node.backward(dys));
        if (dxs.length !== node.inputs.length) {
          throw new Error(`gradient of '${node.name}' returned ${dxs.length} gradients for ${node.inputs.length} inputs`);
        }
        for (const o of outputs) if (o) grads.delete(o);
        const owned = new Set<Tensor>();
        dxs.forEach((dx, i) => {
          const x = node.inputs[i];
          if (!dx || !x.requiresGrad) return;
          if (!sameShape(dx.shape, x.shape)) {
            throw new Error(`gradient of '${node.name}' for input ${i} has shape [${dx.shape}], expected [${x.shape}]`);
          }
          // A rule may hand back a tensor it did not make (dy itself, an input) or the same one twice;
          // give each gradient its own handle so disposing one never frees another.
          if (dx.id < mark || owned.has(dx)) dx = viewOf(dx, dx.shape);
          owned.add(dx);
          accumulate(grads, x, dx);
        });
        for (const d of dys) d?.dispose();
        // What this node saved is freed now, not when the step ends: backward's own peak shrinks.
        if (!opts.retainGraph) releaseNode(node);
        if (finalAt) finishLeaves(grads, finalAt.get(k), hook!);
      }
    } catch (e) {
      for (const g of grads.values()) g.dispose();
      throw e;
    } finally {
      // Nodes no gradient reached, and the rest after an error: their saved tensors go too.
      if (!opts.retainGraph) for (const node of order) releaseNode(node);
    }

    for (const [t, g] of grads) {
      if (t.isLeaf && t.requiresGrad) {
        addToGrad(t, g);
        hook?.(t);
      } else {
        g.dispose();
      }
    }
  });
}

/** leaf.grad ← leaf.grad + g (or g), owning g. */
function addToGrad(leaf: Tensor, g: Tensor): void {
  if (leaf.grad) {
    const sum = runOp('add', [leaf.grad, g], {});
    leaf.grad.dispose();
    g.dispose();
    leaf.grad = keep(sum);
  } else {
    leaf.grad = keep(g);
  }
}

/** The leaves whose last reader (in walk order, from the end of `order`) is order[k], by k. */
function lastReaders(order: GraphNode[]): Map<number, Tensor[]> {
  const at = new Map<number, Tensor[]>();
  const seen = new Set<Tensor>();
  // The walk runs k downwards: a leaf's last reader is the smallest k that reads it.
  order.forEach((node, k) => {
    for (const x of node.inputs) {
      if (!x.isLeaf || !x.requiresGrad || seen.has(x)) continue;
      seen.add(x);
      const list = at.get(k);
      if (list) list.push(x);
      else at.set(k, [x]);
    }
  });
  return at;
}

/** Each leaf's gradient from this walk into .grad, then the hook: no node left reads it. */
function finishLeaves(grads: Map<Tensor, Tensor>, leaves: Tensor[] | undefined, hook: (leaf: Tensor) => void): void {
  for (const leaf of leaves ?? []) {
    const g = grads.get(leaf);
    if (g) {
      grads.delete(leaf);
      addToGrad(leaf, g);
    }
    hook(leaf);
  }
}

function accumulate(grads: Map<Tensor, Tensor>, x: Tensor, dx: Tensor): void {
  const prev = grads.get(x);
  if (!prev) {
    grads.set(x, dx);
    return;
  }
  grads.set(x, runOp('add', [prev, dx], {}));
  prev.dispose();
  dx.dispose();
}

/** Nodes under root, each after every node that consumes its outputs (iterative DFS: deep graphs). */
function topologicalNodes(root: Tensor): GraphNode[] {
  const order: GraphNode[] = [];
  const seen = new Set<GraphNode>();
  if (!root.node) return order;
  const stack: [GraphNode, number][] = [[root.node, 0]];
  seen.add(root.node);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const child = node.inputs[i].node;
      if (child && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order;
}
