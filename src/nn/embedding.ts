// Embedding: rows of weight [vocab, dim] looked up by int32 ids (the gather family's embedding op,
// whose gradient scatter-adds into the rows used).
import type { Tensor } from '../autograd/tensor.js';
import { embedding } from '../kernels/gather/op.js';
import { Module } from './module.js';
import { type ParamOptions, ParamRng, normalParam } from './init.js';

export interface EmbeddingOptions extends ParamOptions {
  /** Standard deviation of the random weight (default 1, as torch.nn.Embedding). */
  std?: number;
  seed?: number;
  rng?: ParamRng;
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const rng = opts.rng ?? new ParamRng(opts.seed ?? 0);
    this.registerParameter('weight', normalParam([numEmbeddings, embeddingDim], opts.std ?? 1, rng, opts));
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  /** ids int32 [...] → [..., dim]. Ids outside [0, vocab) are the kernel's to reject. */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}
