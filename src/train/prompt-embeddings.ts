// Prompt embeddings for losses that weight by prompt similarity (RPO): an embedder (a
// SentenceEmbedder, or anything with encode) run once per distinct prompt, cached on the host.
import type { Tensor } from '../autograd/tensor.js';
import type { Device } from '../autograd/device.js';
import { tensor } from '../autograd/create.js';
import type { PreferenceDataset } from '../data/jsonl.js';

/** Turns prompt texts into embeddings [texts.length, dim] (no gradient). */
export interface PromptEmbedder {
  encode(texts: string[]): Promise<Tensor>;
}

/** Prompt embeddings by prompt id, computed once each by the embedder and kept on the host. */
export class PromptEmbeddingCache {
  private readonly byId = new Map<number, Float64Array>();
  private dim = 0;

  constructor(private readonly embedder: PromptEmbedder, private readonly dataset: PreferenceDataset) {}

  /** Embeds the prompts among `ids` not seen before. */
  async fill(ids: number[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.byId.has(id));
    if (missing.length === 0) return;
    // A conversational prompt is embedded as its messages' text, one per line.
    const texts = missing.map((id) => {
      const p = this.dataset.prompts[id];
      return typeof p === 'string' ? p : p.map((m) => m.content).join('\n');
    });
    const e = await this.embedder.encode(texts);
    try {
      if (e.rank !== 2 || e.shape[0] !== texts.length) throw new Error(`trainPreference: the prompt embedder returned [${e.shape}] for ${texts.length} prompts; expected [${texts.length}, dim]`);
      this.dim = e.shape[1];
      const v = await e.data();
      missing.forEach((id, i) => this.byId.set(id, Float64Array.from(v.subarray(i * this.dim, (i + 1) * this.dim))));
    } finally {
      e.dispose();
    }
  }

  /** [ids.length, dim] on the device, in the loss's dtype. */
  rows(ids: number[], device: Device, dtype: 'float32' | 'float64'): Tensor {
    const { values } = this.hostRows(ids);
    return tensor(dtype === 'float32' ? Float32Array.from(values) : values, [ids.length, this.dim], { device, dtype });
  }

  /** The same rows on the host, row-major, with their width. */
  hostRows(ids: number[]): { values: Float64Array; dim: number } {
    const values = new Float64Array(ids.length * this.dim);
    ids.forEach((id, i) => values.set(this.byId.get(id)!, i * this.dim));
    return { values, dim: this.dim };
  }
}
