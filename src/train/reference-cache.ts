// Precomputed reference log-probs (TRL's precompute_ref_log_probs): one pass of the frozen
// reference over every record before training, its log-probs kept on the host by the row's tokens;
// the training steps then read them instead of running the reference (a quarter of a DPO step's
// work). A record tokenizes the same in every batch (its pair shares one prompt cut), so its rows
// are found again whatever the batching; a row that is not found is computed as before. Under
// several ranks the pass is split across them and its rows gathered, so every rank holds them all.
import type { Tensor } from '../autograd/tensor.js';
import { tensor } from '../autograd/create.js';
import { tidy } from '../autograd/scope.js';
import type { PreferenceDataset } from '../data/jsonl.js';
import { type IndexBatch, planPreferenceBatches } from '../data/batches.js';
import { type TokenizeOptions, type TokenizedRows, tokenizePreferenceBatch } from '../data/tokenize.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { Communicator } from '../distributed/index.js';
import { type ReferenceLogps, disposeTokenized } from './batch.js';
import { partOf, together } from './data-parallel.js';
import { allGatherWire } from './rank-wire.js';

const rowKey = (promptLength: number, ids: number[]): string => `${promptLength}|${ids.join(',')}`;

/** A row's key and its reference log-prob. */
interface CachedRow {
  promptLength: number;
  ids: number[];
  logp: number;
}

export class ReferenceLogpsCache {
  private readonly values = new Map<string, number>();
  /** Rows served from the cache, and rows the reference had to compute during training. */
  hits = 0;
  misses = 0;
  /** The reference's dtype (float64 models keep float64 log-probs). */
  private dtype: 'float32' | 'float64' = 'float32';

  constructor(private readonly reference: ReferenceLogps) {}

  get size(): number {
    return this.values.size;
  }

  /** The cached rows, in the order they were filled: each row's key (prompt length | token ids) and log-prob. */
  entries(): [string, number][] {
    return [...this.values];
  }

  /**
   * Runs the reference over every record of the dataset (both sides), batchSize records at a time.
   * With several ranks each runs a contiguous part of the batches (partOf) and every rank's cache
   * then holds every row: the same batches as one process, so the same values, bit for bit. A rank
   * failing in its part makes every rank throw, naming it.
   */
  async fill(
    tokenizer: TextTokenizer, dataset: PreferenceDataset, batchSize: number, tokenize: TokenizeOptions,
    onBatch?: (done: number, total: number) => void, communicator?: Communicator,
  ): Promise<void> {
    const batches = planPreferenceBatches(dataset, { batchSize, shuffle: false });
    if (!communicator || communicator.size === 1) {
      this.keep(await this.run(tokenizer, dataset, batches, tokenize, onBatch));
      return;
    }
    const comm = communicator;
    const { from, to } = partOf(comm, batches.length);
    const mine = await together(comm, 'in its part of the reference log-probs', () => this.run(tokenizer, dataset, batches.slice(from, to), tokenize, onBatch));
    const dtypes = { float32: 32, float64: 64 } as const;
    // A rank with no batches knows no dtype: it takes the others' (32 or 64; 0 for none).
    const parts = allGatherWire(
      comm,
      (w) => {
        w.number(mine.length ? dtypes[this.dtype] : 0).number(mine.length);
        for (const row of mine) w.number(row.promptLength).numbers(row.ids).number(row.logp);
      },
      (r) => {
        const bits = r.number();
        const rows = Array.from({ length: r.number() }, (): CachedRow => ({ promptLength: r.number(), ids: Array.from(r.numbers()!), logp: r.number() }));
        return { bits, rows };
      },
    );
    const bits = parts.find((p) => p.bits !== 0)?.bits;
    if (bits) this.dtype = bits === 64 ? 'float64' : 'float32';
    for (const p of parts) this.keep(p.rows);
  }

  private keep(rows: CachedRow[]): void {
    for (const row of rows) this.values.set(rowKey(row.promptLength, row.ids), row.logp);
  }

  /** The reference's log-prob of every row of these batches (chosen rows, then rejected, batch by batch). */
  private async run(
    tokenizer: TextTokenizer, dataset: PreferenceDataset, batches: IndexBatch[], tokenize: TokenizeOptions, onBatch?: (done: number, total: number) => void,
  ): Promise<CachedRow[]> {
    const out: CachedRow[] = [];
    for (const [k, index] of batches.entries()) {
      const tok = await tokenizePreferenceBatch(tokenizer, dataset, index, tokenize);
      try {
        for (const rows of [tok.chosen, tok.rejected]) {
          const t = tidy(() => this.reference(rows));
          this.dtype = t.dtype === 'float64' ? 'float64' : 'float32';
          const v = await t.data();
          t.dispose();
          rows.rows.forEach((ids, i) => out.push({ promptLength: rows.promptLengths[i], ids, logp: v[i] }));
        }
      } finally {
        disposeTokenized(tok);
      }
      onBatch?.(k + 1, batches.length);
    }
    return out;
  }

  /** A ReferenceLogps that reads the cache, and asks the reference only for rows it does not hold. */
  get logps(): ReferenceLogps {
    return (rows: TokenizedRows): Tensor => {
      const found = rows.rows.map((ids, i) => this.values.get(rowKey(rows.promptLengths[i], ids)));
      if (found.every((v) => v !== undefined)) {
        this.hits += found.length;
        return tensor(found as number[], [found.length], { device: rows.ids.device, dtype: this.dtype });
      }
      this.misses += found.length;
      return this.reference(rows);
    };
  }
}
