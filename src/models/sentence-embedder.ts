// Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2 (the prompt
// embedder of the RPO paper): tokenize ([CLS] … [SEP], truncated to max_seq_length), run the
// BertModel, mean-pool the last hidden state over each row's real tokens, L2-normalize. A folder
// saved by sentence-transformers (config.json, model.safetensors, tokenizer.json, modules.json,
// sentence_bert_config.json, 1_Pooling/config.json) loads with loadSentenceEmbedder.
import type { Tensor } from '../autograd/tensor.js';
import type { Device } from '../autograd/device.js';
import { arange, tensor } from '../autograd/create.js';
import { keep, noGrad, tidy } from '../autograd/scope.js';
import { cast, div, less, maximum, mul, sqrt } from '../kernels/elementwise/op.js';
import { concat, narrow, reshape } from '../kernels/copy/op.js';
import { sum } from '../kernels/reduce/op.js';
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer.js';
import { type CheckpointSource, readSourceJson, readSourceJsonValue, sourceFile, sourceHas } from '../io/checkpoint.js';
import type { FloatDType } from '../nn/init.js';
import type { BertModel } from './bert.js';
import { loadPretrainedBert } from './bert-pretrained.js';

export type SentencePooling = 'mean' | 'cls';

export interface SentenceEmbedderOptions {
  /** Longest input in tokens, [CLS] and [SEP] included (default: min(512, max_position_embeddings)). */
  maxLength?: number;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** 'mean' over real tokens (default) or the [CLS] token's state. */
  pooling?: SentencePooling;
  /** Divide each embedding by its L2 norm (default true). */
  normalize?: boolean;
}

/**
 * Mean of hidden [B, T, d] over each row's first lengths[b] positions (sentence-transformers'
 * mean pooling: sum(h · mask) / max(Σ mask, 1e-9)).
 */
export function meanPool(hidden: Tensor, lengths: Tensor): Tensor {
  const [B, T] = hidden.shape;
  const positions = reshape(arange(0, T, 1, { device: hidden.device, dtype: 'int32' }), [1, T]);
  const mask = reshape(cast(less(positions, reshape(lengths, [B, 1])), hidden.dtype), [B, T, 1]);
  return div(sum(mul(hidden, mask), 1), maximum(sum(mask, 1), 1e-9));
}

/** x / max(‖x‖₂, 1e-12) along the last axis (torch.nn.functional.normalize). */
export function l2Normalize(x: Tensor): Tensor {
  return div(x, maximum(sqrt(sum(mul(x, x), -1, true)), 1e-12));
}

/** A BertModel and its tokenizer, turning texts into fixed-size embeddings. */
export class SentenceEmbedder {
  readonly maxLength: number;
  readonly batchSize: number;
  readonly pooling: SentencePooling;
  readonly normalize: boolean;

  constructor(readonly model: BertModel, readonly tokenizer: TextTokenizer, opts: SentenceEmbedderOptions = {}) {
    const limit = model.resolved.maxPositions;
    this.maxLength = opts.maxLength ?? Math.min(512, limit);
    if (!Number.isInteger(this.maxLength) || this.maxLength < 2 || this.maxLength > limit) {
      throw new Error(`SentenceEmbedder: maxLength must be an integer from 2 to the model's ${limit} positions, got ${opts.maxLength}`);
    }
    this.batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error(`SentenceEmbedder: batchSize must be a positive integer, got ${opts.batchSize}`);
    this.pooling = opts.pooling ?? 'mean';
    this.normalize = opts.normalize ?? true;
  }

  /** The model's float dtype (float32, or float64 on the CPU device). */
  get dtype(): FloatDType {
    return this.model.embeddings.word_embeddings.weight.dtype as FloatDType;
  }

  /** The embedding width (the model's hidden size). */
  get dim(): number {
    return this.model.resolved.hiddenSize;
  }

  /**
   * Token ids of one text as the model reads it: the tokenizer's template ([CLS] … [SEP]), the
   * text's tokens cut so that the whole fits maxLength, the closing special token kept (as
   * Hugging Face tokenizers truncate with truncation=True).
   */
  async tokenize(text: string): Promise<number[]> {
    const ids = await this.tokenizer.encode(text, { addSpecialTokens: true });
    if (ids.length <= this.maxLength) return ids;
    return [...ids.slice(0, this.maxLength - 1), ids[ids.length - 1]];
  }

  /** Embeddings [texts.length, dim] on the model's device, without gradient. */
  async encode(texts: string[]): Promise<Tensor> {
    const device = this.model.device;
    const parts: Tensor[] = [];
    try {
      for (let i = 0; i < texts.length; i += this.batchSize) {
        const rows = await Promise.all(texts.slice(i, i + this.batchSize).map((t) => this.tokenize(t)));
        parts.push(keep(this.embedIds(rows, device)));
      }
      if (parts.length === 0) return tensor(new Float32Array(0), [0, this.dim], { device, dtype: this.dtype });
      if (parts.length === 1) return parts.pop()!;
      return noGrad(() => concat(parts, 0));
    } finally {
      for (const p of parts) p.dispose();
    }
  }

  /** Embeddings [rows.length, dim] of token-id rows (each within maxLength), right-padded into one batch. */
  embedIds(rows: number[][], device: Device = this.model.device): Tensor {
    const T = Math.max(1, ...rows.map((r) => r.length));
    if (T > this.maxLength) throw new Error(`SentenceEmbedder: a row of ${T} tokens exceeds maxLength ${this.maxLength}`);
    const ids = new Int32Array(rows.length * T);
    rows.forEach((r, b) => ids.set(r, b * T));
    return noGrad(() =>
      tidy(() => {
        const idsT = tensor(ids, [rows.length, T], { device, dtype: 'int32' });
        const lengths = tensor(Int32Array.from(rows, (r) => r.length), [rows.length], { device, dtype: 'int32' });
        const hidden = this.model.forward(idsT, { keyPadding: lengths });
        const pooled = this.pooling === 'mean' ? meanPool(hidden, lengths) : reshape(narrow(hidden, 1, 0, 1), [rows.length, this.dim]);
        return this.normalize ? l2Normalize(pooled) : pooled;
      }),
    );
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** What a sentence-transformers folder says about pooling, normalization and length. */
interface SentenceTransformersSetup {
  pooling?: SentencePooling;
  normalize?: boolean;
  maxLength?: number;
}

/**
 * modules.json (the module stack: Transformer, Pooling, Normalize), the Pooling module's
 * config.json and sentence_bert_config.json's max_seq_length, where present, from a folder or a
 * FileSource.
 */
export async function readSentenceTransformersSetup(source: CheckpointSource): Promise<SentenceTransformersSetup> {
  const setup: SentenceTransformersSetup = {};
  if (await sourceHas(source, SBERT_CONFIG)) {
    const m = (await readSourceJson(source, SBERT_CONFIG))['max_seq_length'];
    if (m !== undefined) {
      if (typeof m !== 'number' || !Number.isInteger(m) || m < 2) throw new Error(`${sourceFile(source, SBERT_CONFIG)}: max_seq_length must be an integer ≥ 2, got ${JSON.stringify(m)}`);
      setup.maxLength = m;
    }
  }
  if (!(await sourceHas(source, MODULES))) return setup;
  const modules = await readSourceJsonValue(source, MODULES);
  if (!Array.isArray(modules)) throw new Error(`${sourceFile(source, MODULES)}: expected an array of modules`);
  const types = modules.map((m) => String((m as { type?: unknown }).type ?? ''));
  setup.normalize = types.some((t) => t.endsWith('.Normalize'));
  const pooling = modules.find((m) => String((m as { type?: unknown }).type ?? '').endsWith('.Pooling')) as { path?: unknown } | undefined;
  if (pooling) {
    // The module's folder, as a file name inside the source ('1_Pooling/config.json').
    const cfgFile = [String(pooling.path ?? ''), 'config.json'].filter((p) => p !== '').join('/');
    const cfg = await readSourceJson(source, cfgFile);
    const modes = Object.entries(cfg).filter(([k, v]) => k.startsWith('pooling_mode_') && v === true).map(([k]) => k.slice('pooling_mode_'.length));
    if (modes.length !== 1 || !['mean_tokens', 'cls_token'].includes(modes[0])) {
      throw new Error(`${sourceFile(source, cfgFile)}: pooling ${JSON.stringify(modes)} is not supported (one of pooling_mode_mean_tokens, pooling_mode_cls_token)`);
    }
    setup.pooling = modes[0] === 'mean_tokens' ? 'mean' : 'cls';
  }
  return setup;
}

const SBERT_CONFIG = 'sentence_bert_config.json';
const MODULES = 'modules.json';

export interface LoadSentenceEmbedderOptions extends SentenceEmbedderOptions {
  device?: Device;
  /** float32 (default) or float64 (CPU device only). */
  dtype?: FloatDType;
}

/**
 * Loads a sentence embedder from a folder (or the same files from a FileSource: a URL, a page's
 * files) holding a BERT checkpoint and its tokenizer.json, as sentence-transformers saves
 * all-MiniLM-L6-v2. Pooling, normalization and the length limit come from the folder's
 * sentence-transformers files when present (options override them); without them: mean pooling,
 * normalized, at most min(512, max_position_embeddings) tokens.
 */
export async function loadSentenceEmbedder(source: CheckpointSource, opts: LoadSentenceEmbedderOptions = {}): Promise<SentenceEmbedder> {
  const setup = await readSentenceTransformersSetup(source);
  const tokenizer = await loadTokenizer(source);
  const model = await loadPretrainedBert(source, { device: opts.device, dtype: opts.dtype });
  try {
    const maxLength = opts.maxLength ?? (setup.maxLength !== undefined ? Math.min(setup.maxLength, model.resolved.maxPositions) : undefined);
    return new SentenceEmbedder(model, tokenizer, {
      ...opts,
      ...(maxLength !== undefined ? { maxLength } : {}),
      pooling: opts.pooling ?? setup.pooling ?? 'mean',
      normalize: opts.normalize ?? setup.normalize ?? true,
    });
  } catch (e) {
    model.dispose();
    throw e;
  }
}
