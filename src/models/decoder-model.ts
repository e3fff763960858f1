// The decoder stack every architecture here shares (transformers' <Arch>Model): embed_tokens →
// layers → norm. An architecture supplies its layer (what one block computes) and norms; the loop
// here owns what is the same for all: per-layer tidies, gradient checkpointing, the decoding
// step's masks per window, and the residual sums carried into the next norm's kernel where no
// gradient is recorded.
import type { Tensor } from '../autograd/tensor.js';
import { mul } from '../kernels/elementwise/op.js';
import { addRmsNorm } from '../kernels/norm/op.js';
import { isGradEnabled, tidy } from '../autograd/scope.js';
import { checkpoint } from '../autograd/checkpoint.js';
import { Module, ModuleList } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import type { RMSNorm } from '../nn/rms-norm.js';
import type { FloatDType } from '../nn/init.js';
import type { ParamRng } from '../nn/init.js';
import type { DecoderInitOptions, DecoderShared, LayerInputs } from './decoder-blocks.js';
import type { KVCache } from './kv-cache.js';

/** One decoder block of an architecture. */
export interface DecoderLayer extends Module {
  /** x [B, T, hidden] → the block's output. */
  forward(x: Tensor, inputs: LayerInputs): Tensor;
  /**
   * The block with its residual sums left to the next kernel: its input is x + branch (branch from
   * the previous layer, or none), its output [h, branch'] whose sum is the block's output, formed
   * by the next layer's input norm (or the final norm) in the same kernel (addRmsNorm).
   */
  forwardUnsummed(x: Tensor, branch: Tensor | undefined, inputs: LayerInputs): [Tensor, Tensor];
}

/** A norm's output and the residual sum it normalizes: [x + branch, norm(x + branch)], one kernel without a graph. */
export function addNorm(norm: RMSNorm, x: Tensor, branch: Tensor | undefined): [Tensor, Tensor] {
  return branch ? addRmsNorm(x, branch, norm.weight, norm.eps, norm.offset) : [x, norm.forward(x)];
}

export class DecoderModel<L extends DecoderLayer> extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<L>;
  readonly norm: RMSNorm;

  /** Recompute each decoder layer's activations during backward instead of keeping them. */
  gradientCheckpointing = false;

  constructor(
    private readonly s: DecoderShared, rng: ParamRng, std: number, opts: DecoderInitOptions,
    layer: (i: number) => L, norm: () => RMSNorm,
  ) {
    super();
    const { cfg } = s;
    this.embed_tokens = this.registerModule('embed_tokens', new Embedding(cfg.vocabSize, cfg.hiddenSize, { ...opts, rng, std }));
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: cfg.numLayers }, (_, i) => layer(i))));
    this.norm = this.registerModule('norm', norm());
  }

  /** ids int32 [B, T] → the input embeddings [B, T, hidden] (Gemma-2's scaled by √hidden in the model's dtype). */
  embed(ids: Tensor): Tensor {
    const x = this.embed_tokens.forward(ids);
    if (!this.s.cfg.scaleEmbeddings) return x;
    // transformers: torch.tensor(hidden_size ** 0.5, dtype=hidden_states.dtype).
    const root = Math.sqrt(this.s.cfg.hiddenSize);
    return mul(x, x.dtype === 'float32' ? Math.fround(root) : root);
  }

  /** ids int32 [B, T] → final hidden states [B, T, hidden]. */
  forward(ids: Tensor, positions: Tensor, keyPadding?: Tensor, cache?: KVCache): Tensor {
    let x = this.embed(ids);
    const visible = this.visibleKeys(x, cache);
    const inputs = (i: number): LayerInputs => ({
      positions,
      ...(keyPadding ? { keyPadding } : {}),
      ...(cache ? { cache: cache.layers[i] } : {}),
      ...(visible ? { visible: visible.get(this.s.cfg.layerWindows[i]) } : {}),
    });
    if (!isGradEnabled()) {
      // No graph (generation, evaluation, a frozen reference): each layer hands the next its two
      // residual terms, summed by the next input norm's kernel (forwardUnsummed); a layer's inputs
      // are freed once the next has read them, as nothing else can (no backward will).
      let pair: [Tensor, Tensor | undefined] = [x, undefined];
      this.layers.items.forEach((layer, i) => {
        const next = tidy(() => layer.forwardUnsummed(pair[0], pair[1], inputs(i)));
        pair[0].dispose();
        pair[1]?.dispose();
        pair = next;
      });
      for (const m of visible?.values() ?? []) m.dispose();
      const [h, branch] = pair;
      if (!branch) return this.norm.forward(h);
      const [sum, out] = addNorm(this.norm, h, branch);
      for (const t of [sum, h, branch]) t.dispose();
      return out;
    }
    this.layers.items.forEach((layer, i) => {
      // Each layer in its own tidy: the copies, sums and projections no backward rule reads
      // (permuted heads, residual branches, LoRA's paths) go when the layer ends, and the graph keeps
      // only what its rules saved (docs/training.md, activation memory).
      x = tidy(() => this.gradientCheckpointing && !cache
        // Positions and padding are the block's inputs too: the graph keeps them for the recompute,
        // which may run after the tidy that made them has ended (two-pass steps).
        ? checkpoint((h, pos, pad) => layer.forward(h, { ...inputs(i), positions: pos, ...(pad ? { keyPadding: pad } : {}) }), keyPadding ? [x, positions, keyPadding] : [x, positions], layer.parameters())
        : layer.forward(x, inputs(i)));
    });
    for (const m of visible?.values() ?? []) m.dispose();
    return this.norm.forward(x);
  }

  /** A decoding step's masks of the cached keys each new token sees, one per distinct layer window. */
  private visibleKeys(x: Tensor, cache: KVCache | undefined): Map<number, Tensor> | undefined {
    if (!cache || cache.width === 0) return undefined;
    const windows = new Set(this.s.cfg.layerWindows);
    return new Map([...windows].map((w) => [w, cache.visibleKeys(w, x.device, x.dtype as FloatDType)]));
  }
}
