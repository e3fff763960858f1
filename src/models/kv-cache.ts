// The key/value cache of a decoder for generation: per layer, the keys (after RoPE) and values of
// every token so far, written in place, and which cached keys each new token may see.
import type { Tensor } from '../autograd/tensor.js';
import type { Device } from '../autograd/device.js';
import { tensor, zeros } from '../autograd/create.js';
import { indexSelect } from '../kernels/gather/op.js';
import { cacheWrite, rotateAndCache } from '../kernels/decode/op.js';
import { keep, noGrad, tidy } from '../autograd/scope.js';
import type { FloatDType } from '../nn/init.js';

/**
 * A layer's keys (after RoPE) and values, [B, Hkv, capacity, D], of which the first `columns` are
 * written; kept out of tidy(). Columns are written in place (cacheWrite), so a step costs one new
 * column, not a copy of the cache. The first write allocates max(its columns, `reserve`); a write
 * past the capacity doubles it (one copy).
 */
export class LayerCache {
  k: Tensor | null = null;
  v: Tensor | null = null;
  columns = 0;
  /** Columns to allocate at the first write (the prompt width plus the tokens to come). */
  reserve = 0;

  /** Appends k, v [B, Hkv, n, D] as the next n columns. */
  write(k: Tensor, v: Tensor): void {
    this.makeRoom(k);
    cacheWrite([this.k!, this.v!], [k, v], this.columns);
    this.columns += k.shape[2];
  }

  /**
   * A decoding step's write: q and k [B, ·, n, D] rotated by RoPE, k and v appended as the next n
   * columns, in one launch (rotateAndCache); returns q rotated.
   */
  writeRotated(q: Tensor, k: Tensor, v: Tensor, positions: Tensor, invFreq: Tensor, rotaryDim: number): Tensor {
    this.makeRoom(k);
    const qr = rotateAndCache(q, k, v, this.k!, this.v!, this.columns, positions, invFreq, rotaryDim);
    this.columns += k.shape[2];
    return qr;
  }

  /** Grows the cache (to max(needed, reserve, twice its capacity); one copy) if k's columns do not fit. */
  private makeRoom(k: Tensor): void {
    const [B, Hkv, n, D] = k.shape;
    const need = this.columns + n;
    const capacity = this.k ? this.k.shape[2] : 0;
    if (need <= capacity) return;
    const grown = Math.max(need, this.reserve, 2 * capacity);
    const fresh = [0, 1].map(() => keep(zeros([B, Hkv, grown, D], { device: k.device, dtype: k.dtype })));
    if (this.k && this.v) cacheWrite(fresh, [this.k, this.v], 0);
    this.dispose();
    [this.k, this.v] = fresh;
  }

  /** Keeps the batch rows `ids` (int32 indices) of the cache, in that order. */
  keepRows(ids: Tensor): void {
    if (!this.k || !this.v) return;
    const [k, v] = [keep(indexSelect(this.k, 0, ids)), keep(indexSelect(this.v, 0, ids))];
    this.dispose();
    [this.k, this.v] = [k, v];
  }

  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = this.v = null;
  }
}

/**
 * The key/value cache of a whole model for a batch of sequences: generation without recomputing the
 * prefixes. The prompts are cached right-padded to the longest, and every later token of every row
 * goes in the same new column, so row b's tokens are columns [0, promptLengths[b]) and
 * [promptWidth, width): the gap between is padding its queries never see. A row's positions (RoPE)
 * run on without the gap.
 */
export class KVCache {
  readonly layers: LayerCache[];
  /** Columns cached so far (prompt width plus tokens added since). */
  width = 0;
  /** Each row's prompt length (its real tokens among the first promptWidth columns). */
  promptLengths: number[] = [];
  promptWidth = 0;
  /** Tokens per row expected after the prompts: the layers reserve room for them (more still fit). */
  tokensToCome = 0;

  constructor(numLayers: number) {
    this.layers = Array.from({ length: numLayers }, () => new LayerCache());
  }

  /** Rows cached (0 while empty). */
  get batch(): number {
    return this.promptLengths.length;
  }

  /** Row b's tokens so far: its next token's position. */
  length(b = 0): number {
    return this.promptLengths[b] + this.width - this.promptWidth;
  }

  /** The position a cached column has in row b (RoPE's), or −1 for padding. */
  positionOf(b: number, column: number): number {
    if (column < this.promptLengths[b]) return column;
    return column < this.promptWidth ? -1 : this.promptLengths[b] + column - this.promptWidth;
  }

  /**
   * Which keys the next token of each row sees once it is cached (width + 1 columns): its row's
   * tokens, the last `window` of them with a sliding window (key position > query position − window,
   * as Mistral). 0/1, [B, width + 1]: decodeAttention's mask.
   */
  visibleKeys(window: number, device: Device, dtype: FloatDType): Tensor {
    const B = this.batch, L = this.width + 1;
    const mask = new Float64Array(B * L);
    for (let b = 0; b < B; b++) {
      const query = this.length(b);
      for (let j = 0; j < L; j++) {
        const p = j === this.width ? query : this.positionOf(b, j);
        mask[b * L + j] = p >= 0 && (window <= 0 || p > query - window) ? 1 : 0;
      }
    }
    return tensor(mask, [B, L], { device, dtype });
  }

  /**
   * Keeps only these rows of the batch (indices into it, in their new order), e.g. to drop rows
   * that finished generating: each layer's cache rows are gathered into new tensors (one copy).
   */
  keepRows(rows: number[]): void {
    if (rows.some((b) => !Number.isInteger(b) || b < 0 || b >= this.batch)) throw new Error(`KVCache.keepRows: rows [${rows}] are not all in 0..${this.batch - 1}`);
    const device = this.layers.find((l) => l.k)?.k!.device;
    if (device) {
      noGrad(() => tidy(() => {
        const ids = tensor(Int32Array.from(rows), [rows.length], { device, dtype: 'int32' });
        for (const l of this.layers) l.keepRows(ids);
      }));
    }
    this.promptLengths = rows.map((b) => this.promptLengths[b]);
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

/** The name the cache had when LLaMA was the only architecture. */
export { KVCache as LlamaCache };
