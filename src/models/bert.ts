// BertModel (the encoder of BERT and of sentence embedders such as all-MiniLM-L6-v2) with Hugging
// Face's module tree, so parameter names are the checkpoint's (embeddings.word_embeddings.weight,
// encoder.layer.{i}.attention.self.query.weight, …), and transformers' numerics
// (models/bert/modeling_bert.py): learned absolute positions and token types added to the word
// embeddings, post-norm layers (LayerNorm(x + sublayer(x))), bidirectional attention with the
// padded keys masked, exact (erf) GELU. Right padding only: the keyPadding lengths say how many
// tokens of each row are real.
import type { Tensor } from '../autograd/tensor.js';
import type { Device } from '../autograd/device.js';
import { tensor, zeros } from '../autograd/create.js';
import { add } from '../kernels/elementwise/op.js';
import { tidy } from '../autograd/scope.js';
import { tanh } from '../kernels/elementwise/op.js';
import { narrow, permute, reshape } from '../kernels/copy/op.js';
import { gelu } from '../kernels/activation/op.js';
import { attention } from '../kernels/attention/op.js';
import { Module, ModuleList, type LoadStateDictOptions, type LoadStateDictResult } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { Embedding } from '../nn/embedding.js';
import { LayerNorm } from '../nn/layer-norm.js';
import { type FloatDType, ParamRng } from '../nn/init.js';
import { type BertConfig, type ResolvedBertConfig, resolveBertConfig } from './bert-config.js';

export interface BertInitOptions {
  device?: Device;
  /** float32 (default) or float64 (CPU device only). */
  dtype?: FloatDType;
  /** Seed of the random weights (default 0). */
  seed?: number;
  /** Standard deviation of the random weights (default 0.02, BertConfig's initializer_range). LayerNorms start at 1 and 0. */
  initStd?: number;
  /** Build the pooler (dense + tanh on the first token), as transformers' BertModel does by default (default true). */
  addPoolingLayer?: boolean;
}

export interface BertForwardOptions {
  /** int32 [B]: the valid length of each row (right padding); keys past it are masked. */
  keyPadding?: Tensor;
  /** int32 [B, T] segment ids (default all 0). */
  tokenTypeIds?: Tensor;
}

interface Parts {
  cfg: ResolvedBertConfig;
  rng: ParamRng;
  std: number;
  opts: BertInitOptions;
}

const linear = (p: Parts, inF: number, outF: number) => new Linear(inF, outF, { ...p.opts, rng: p.rng, std: p.std, bias: true });
const norm = (p: Parts) => new LayerNorm(p.cfg.hiddenSize, p.cfg.layerNormEps, p.opts);

class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;

  constructor(p: Parts) {
    super();
    const { cfg } = p;
    const e = (n: number) => new Embedding(n, cfg.hiddenSize, { ...p.opts, rng: p.rng, std: p.std });
    this.word_embeddings = this.registerModule('word_embeddings', e(cfg.vocabSize));
    this.position_embeddings = this.registerModule('position_embeddings', e(cfg.maxPositions));
    this.token_type_embeddings = this.registerModule('token_type_embeddings', e(cfg.typeVocabSize));
    this.LayerNorm = this.registerModule('LayerNorm', norm(p));
  }

  /** LayerNorm(word[ids] + position[0 … T−1] + token_type[types]). */
  forward(ids: Tensor, tokenTypeIds?: Tensor): Tensor {
    const [B, T] = ids.shape;
    const positions = narrow(this.position_embeddings.weight, 0, 0, T); // [T, hidden], broadcast over B
    const types = tokenTypeIds ?? zeros([B, T], { device: ids.device, dtype: 'int32' });
    const x = add(add(this.word_embeddings.forward(ids), positions), this.token_type_embeddings.forward(types));
    return this.LayerNorm.forward(x);
  }
}

class BertSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;

  constructor(private readonly p: Parts) {
    super();
    const d = p.cfg.hiddenSize;
    this.query = this.registerModule('query', linear(p, d, d));
    this.key = this.registerModule('key', linear(p, d, d));
    this.value = this.registerModule('value', linear(p, d, d));
  }

  /** x [B, T, hidden] → the attention context [B, T, hidden] (heads concatenated). */
  forward(x: Tensor, keyPadding?: Tensor): Tensor {
    const { numHeads: H, headDim: D, hiddenSize } = this.p.cfg;
    const [B, T] = x.shape;
    const heads = (y: Tensor) => permute(reshape(y, [B, T, H, D]), [0, 2, 1, 3]);
    const o = attention(heads(this.query.forward(x)), heads(this.key.forward(x)), heads(this.value.forward(x)), {
      causal: false,
      ...(keyPadding ? { keyPadding } : {}),
    });
    return reshape(permute(o, [0, 2, 1, 3]), [B, T, hiddenSize]);
  }
}

/** A dense projection, then LayerNorm around the residual: BertSelfOutput and BertOutput. */
class BertResidualOutput extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;

  constructor(p: Parts, inF: number) {
    super();
    this.dense = this.registerModule('dense', linear(p, inF, p.cfg.hiddenSize));
    this.LayerNorm = this.registerModule('LayerNorm', norm(p));
  }

  forward(h: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(add(this.dense.forward(h), residual));
  }
}

class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;

  constructor(p: Parts) {
    super();
    this.self = this.registerModule('self', new BertSelfAttention(p));
    this.output = this.registerModule('output', new BertResidualOutput(p, p.cfg.hiddenSize));
  }

  forward(x: Tensor, keyPadding?: Tensor): Tensor {
    return this.output.forward(this.self.forward(x, keyPadding), x);
  }
}

class BertIntermediate extends Module {
  readonly dense: Linear;

  constructor(p: Parts) {
    super();
    this.dense = this.registerModule('dense', linear(p, p.cfg.hiddenSize, p.cfg.intermediateSize));
  }

  forward(x: Tensor): Tensor {
    return gelu(this.dense.forward(x));
  }
}

class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;

  constructor(p: Parts) {
    super();
    this.attention = this.registerModule('attention', new BertAttention(p));
    this.intermediate = this.registerModule('intermediate', new BertIntermediate(p));
    this.output = this.registerModule('output', new BertResidualOutput(p, p.cfg.intermediateSize));
  }

  /** Post-norm: a = LN(x + attn(x)); LN(a + dense(gelu(dense(a)))). */
  forward(x: Tensor, keyPadding?: Tensor): Tensor {
    const a = this.attention.forward(x, keyPadding);
    return this.output.forward(this.intermediate.forward(a), a);
  }
}

class BertEncoder extends Module {
  readonly layer: ModuleList<BertLayer>;

  constructor(p: Parts) {
    super();
    this.layer = this.registerModule('layer', new ModuleList(Array.from({ length: p.cfg.numLayers }, () => new BertLayer(p))));
  }

  forward(x: Tensor, keyPadding?: Tensor): Tensor {
    // One tidy per layer: only what backward rules saved outlives it (as in LlamaModel).
    for (const l of this.layer.items) x = tidy(() => l.forward(x, keyPadding));
    return x;
  }
}

class BertPooler extends Module {
  readonly dense: Linear;

  constructor(p: Parts) {
    super();
    this.dense = this.registerModule('dense', linear(p, p.cfg.hiddenSize, p.cfg.hiddenSize));
  }

  /** tanh(dense(hidden[:, 0])): [B, hidden]. */
  forward(hidden: Tensor): Tensor {
    const [B, , d] = hidden.shape;
    return tanh(this.dense.forward(reshape(narrow(hidden, 1, 0, 1), [B, d])));
  }
}

/**
 * The BERT encoder. Built with random weights (seeded); loadPretrainedBert reads a checkpoint folder.
 * forward gives the last hidden state [B, T, hidden]; pool() the pooler's output (when built).
 */
export class BertModel extends Module {
  readonly config: BertConfig;
  readonly resolved: ResolvedBertConfig;
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null;

  constructor(config: BertConfig, opts: BertInitOptions = {}) {
    super();
    this.config = config;
    const cfg = (this.resolved = resolveBertConfig(config));
    const p: Parts = { cfg, rng: new ParamRng(opts.seed ?? 0), std: opts.initStd ?? 0.02, opts };
    this.embeddings = this.registerModule('embeddings', new BertEmbeddings(p));
    this.encoder = this.registerModule('encoder', new BertEncoder(p));
    this.pooler = opts.addPoolingLayer ?? true ? this.registerModule('pooler', new BertPooler(p)) : null;
    for (const [name, t] of this.namedParameters()) t.name = name;
  }

  /** ids int32 [B, T] (T ≤ max_position_embeddings) → last hidden state [B, T, hidden]. */
  forward(ids: Tensor, opts: BertForwardOptions = {}): Tensor {
    if (ids.dtype !== 'int32' || ids.rank !== 2) throw new Error(`BertModel.forward: ids must be int32 [batch, seq], got ${ids.dtype} [${ids.shape}]`);
    const [B, T] = ids.shape;
    if (T > this.resolved.maxPositions) throw new Error(`BertModel.forward: ${T} tokens, but the model has ${this.resolved.maxPositions} positions (max_position_embeddings); truncate the input`);
    const pad = opts.keyPadding;
    if (pad && (pad.dtype !== 'int32' || pad.rank !== 1 || pad.shape[0] !== B)) {
      throw new Error(`BertModel.forward: keyPadding must be int32 [${B}] lengths, got ${pad.dtype} [${pad.shape}]`);
    }
    const types = opts.tokenTypeIds;
    if (types && (types.dtype !== 'int32' || types.shape.length !== 2 || types.shape[0] !== B || types.shape[1] !== T)) {
      throw new Error(`BertModel.forward: tokenTypeIds must be int32 [${B}, ${T}], got ${types.dtype} [${types.shape}]`);
    }
    return this.encoder.forward(this.embeddings.forward(ids, types), pad);
  }

  /** The pooler's output for a last hidden state: tanh(dense(h[:, 0])). */
  pool(hidden: Tensor): Tensor {
    if (!this.pooler) throw new Error('BertModel.pool: this model was built without a pooler (addPoolingLayer: false)');
    return this.pooler.forward(hidden);
  }

  /**
   * As Module.loadStateDict, accepting the names other BERT checkpoints use: a "bert." prefix
   * (BertForMaskedLM and other heads; their head tensors are then ignored), LayerNorm gamma/beta
   * (TensorFlow-era checkpoints, renamed by transformers too), and without the position_ids buffer.
   */
  override loadStateDict(map: Map<string, Tensor> | Record<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const source = map instanceof Map ? map : new Map(Object.entries(map));
    const prefixed = [...source.keys()].some((n) => n.startsWith('bert.'));
    const renamed = new Map<string, Tensor>();
    for (const [name, t] of source) {
      if (prefixed && !name.startsWith('bert.')) continue; // a task head (cls.*, classifier.*)
      let n = prefixed ? name.slice('bert.'.length) : name;
      if (n === 'embeddings.position_ids') continue;
      n = n.replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight').replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
      renamed.set(n, t);
    }
    return super.loadStateDict(renamed, opts);
  }
}

/** int32 [B] lengths of token-id rows, on a device (the keyPadding of BertModel.forward). */
export function lengthsTensor(lengths: number[], device?: Device): Tensor {
  return tensor(Int32Array.from(lengths), [lengths.length], { dtype: 'int32', ...(device ? { device } : {}) });
}
