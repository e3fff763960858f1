// What a graph node keeps for its backward rule (PyTorch's save_for_backward): its own handles on the
// inputs and outputs the rule reads, or, for a tensor with a recipe, the recipe's inputs, recomputing
// the tensor when backward reaches the node (selective activation recomputation).
import { Tensor, savedHandle, type Recipe } from './tensor.js';
import { keep, noGrad, tidy } from './scope.js';

/**
 * Which inputs and outputs (by position) a gradient rule reads the values of: the graph keeps
 * those alive until backward has run through the op; the rest may be freed as soon as the program
 * disposes them. A function decides from the inputs (mul needs a only when b wants a gradient).
 * Left out: everything is saved.
 */
export interface Saves {
  inputs?: readonly number[];
  outputs?: readonly number[];
}
export type SaveSpec = Saves | ((inputs: readonly Tensor[]) => Saves);

export interface SavedForBackward {
  /** The rule's view: saved entries replaced by the graph's handles (recomputed ones after materialize()). */
  ctx: { inputs: Tensor[]; outputs: Tensor[] };
  /** Everything the node holds, to dispose when it is released. */
  saved: Tensor[];
  /** Recomputes the tensors saved as recipes (once; before the rule first runs). */
  materialize(): void;
}

type Side = 'inputs' | 'outputs';

export function saveForBackward(inputs: Tensor[], outputs: Tensor[], saves: SaveSpec | undefined): SavedForBackward {
  const spec = typeof saves === 'function' ? saves(inputs) : saves;
  const saved: Tensor[] = [];
  const pending: { side: Side; at: number; recipe: Recipe; inputs: Tensor[]; requiresGrad: boolean }[] = [];
  const keepSide = (side: Side, list: Tensor[], which: readonly number[] | undefined) =>
    list.map((t, i) => {
      if (which !== undefined && !which.includes(i)) return t;
      if (t.recipe && t.recipe.inputs.every((x) => !x.isDisposed)) {
        const handles = t.recipe.inputs.map(savedHandle);
        saved.push(...handles);
        pending.push({ side, at: i, recipe: t.recipe, inputs: handles, requiresGrad: t.requiresGrad });
        return t;
      }
      const h = savedHandle(t);
      saved.push(h);
      return h;
    });
  const ctx = {
    inputs: keepSide('inputs', inputs, spec?.inputs ?? (spec ? [] : undefined)),
    outputs: keepSide('outputs', outputs, spec?.outputs ?? (spec ? [] : undefined)),
  };
  return {
    ctx,
    saved,
    materialize() {
      for (const p of pending.splice(0)) {
        const again = keep(noGrad(() => tidy(() => p.recipe.run(p.inputs))));
        // As a saved handle does, it reports the original's requiresGrad (rules ask it).
        if (p.requiresGrad) again.requiresGrad = true;
        saved.push(again);
        ctx[p.side][p.at] = again;
      }
    },
  };
}
