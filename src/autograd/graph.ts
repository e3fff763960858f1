// The graph's lifetime, as PyTorch's: a node holds the tensors its backward rule reads (its saved
// tensors: handles of their own on the same memory), so the tensors a program made can be disposed
// as soon as it is done with them; the memory a backward needs stays until backward has used it.
// A node lives while one of its outputs is undisposed or a live node consumes one of them; when the
// last goes, the node releases its saved tensors and lets go of its inputs' nodes in turn.

/**
 * A node (GraphNode, in tensor.ts) as its lifetime sees it: tensor.ts drops a holder here when a
 * tensor is disposed, so this module knows nodes and tensors only by these fields.
 */
export interface HeldNode {
  released: boolean;
  holders: number;
  saved: { dispose(): void }[];
  readonly inputs: readonly { readonly node: HeldNode | null }[];
  readonly outputs: readonly WeakRef<{ node: HeldNode | null }>[];
}

/** Frees what a node saved and detaches it from its outputs. Does not touch its inputs' nodes. */
export function releaseNode(node: HeldNode): void {
  if (node.released) return;
  node.released = true;
  for (const s of node.saved) s.dispose();
  node.saved = [];
  for (const w of node.outputs) {
    const o = w.deref();
    if (o && o.node === node) o.node = null;
  }
}

/** One holder of `node` (an output disposed, or a consumer released) has gone. */
export function dropHolder(node: HeldNode): void {
  if (node.released || --node.holders > 0) return;
  // Iterative: a deep model's graph would overflow the stack as a recursion.
  const stack = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.released) continue;
    releaseNode(n);
    for (const t of n.inputs) {
      const p = t.node;
      if (p && !p.released && --p.holders === 0) stack.push(p);
    }
  }
}

/** A consumer of `t` was recorded: t's node must outlive it. */
export function addHolder(t: { readonly node: HeldNode | null }): void {
  const p = t.node;
  if (p && !p.released) p.holders++;
}
