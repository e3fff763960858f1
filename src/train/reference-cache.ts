// Precomputed reference log-probs (TRL's precompute_ref_log_probs): one pass of the frozen
// reference over every record before training, its log-probs kept on the host by the row's tokens;
// the training steps then read them instead of running the reference (a quarter of a DPO step's
// work). A record tokenizes the same in every batch (its pair shares one prompt cut), so its rows
// are found again whatever the batching; a row that is not found is computed as before.
import type { Tensor } from '../autograd/tensor.js';
import { tensor } from '../autograd/create.js';
import { tidy } from '../autograd/scope.js';
import type { PreferenceDataset } from '../data/jsonl.js';
import { planPreferenceBatches } from '../data/batches.js';
import { type TokenizeOptions, type TokenizedRows, tokenizePreferenceBatch } from '../data/tokenize.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { type ReferenceLogps, disposeTokenized } from './batch.js';

const rowKey = (rows: TokenizedRows, i: number): string => `${rows.promptLengths[i]}|${rows.rows[i].join(',')}`;

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

  /** Runs the reference over every record of the dataset (both sides), batchSize records at a time. */
  async fill(tokenizer: TextTokenizer, dataset: PreferenceDataset, batchSize: number, tokenize: TokenizeOptions, onBatch?: (done: number, total: number) => void): Promise<void> {
    const batches = planPreferenceBatches(dataset, { batchSize, shuffle: false });
    for (const [k, index] of batches.entries()) {
      const tok = await tokenizePreferenceBatch(tokenizer, dataset, index, tokenize);
      try {
        for (const rows of [tok.chosen, tok.rejected]) {
          const t = tidy(() => this.reference(rows));
          this.dtype = t.dtype === 'float64' ? 'float64' : 'float32';
          const v = await t.data();
          t.dispose();
          rows.rows.forEach((_, i) => this.values.set(rowKey(rows, i), v[i]));
        }
      } finally {
        disposeTokenized(tok);
      }
      onBatch?.(k + 1, batches.length);
    }
  }

  /** A ReferenceLogps that reads the cache, and asks the reference only for rows it does not hold. */
  get logps(): ReferenceLogps {
    return (rows: TokenizedRows): Tensor => {
      const found = rows.rows.map((_, i) => this.values.get(rowKey(rows, i)));
      if (found.every((v) => v !== undefined)) {
        this.hits += found.length;
        return tensor(found as number[], [found.length], { device: rows.ids.device, dtype: this.dtype });
      }
      this.misses += found.length;
      return this.reference(rows);
    };
  }
}
