// Picking the next token from one row of logits: the argmax (temperature 0), or a sample from
// softmax(logits / temperature) restricted to the topK most likely tokens, then to the smallest set
// of most likely tokens whose probability reaches topP (at least one).
//
// "Most likely first" is the order (logit descending, index ascending on ties); with every token a
// candidate (no top-k or top-p) no order is needed and the draw walks the tokens by index. Sorting the whole
// vocabulary for every row and step (what pickTokenBySorting does, the reference) costs
// O(V log V) of JavaScript per token: at a 128k vocabulary that is tens of milliseconds, more than a
// decoding step on a GPU. pickToken instead selects only the head of that order it needs with a
// bounded heap: the topK tokens, or for top-p a prefix that grows 8× at a time until its mass
// reaches topP. Both do the same float64 arithmetic in the same order, so they pick the same token
// from the same random number (a test holds them together on random and tied logits).

// The greedy choice is argmaxOf: the first largest logit, NaN ranking lowest, the order of the
// `argmax` kernel that greedy decoding runs on the device.
import { argmaxOf } from '../kernels/reduce/contract.js';

/** The options pickToken reads. */
export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
}

/** Whether token a comes before token b: higher logit first, lower index on ties. */
function before(logits: ArrayLike<number>, a: number, b: number): boolean {
  return logits[a] > logits[b] || (logits[a] === logits[b] && a < b);
}

/**
 * The `count` most likely tokens, most likely first: a min-heap (by the order above) of the best
 * `count` seen, O(V log count).
 */
export function topTokens(logits: ArrayLike<number>, count: number): number[] {
  const V = logits.length;
  const n = Math.min(count, V);
  if (n <= 0) return [];
  const heap: number[] = [];
  // The heap's root is the worst token kept: a token enters only if it comes before the root.
  const worse = (i: number, j: number) => before(logits, heap[j], heap[i]);
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!worse(i, p)) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && worse(l, m)) m = l;
      if (r < heap.length && worse(r, m)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let v = 0; v < V; v++) {
    if (heap.length < n) {
      heap.push(v);
      up(heap.length - 1);
    } else if (before(logits, v, heap[0])) {
      heap[0] = v;
      down(0);
    }
  }
  return heap.sort((a, b) => (before(logits, a, b) ? -1 : 1));
}

/**
 * Samples from `order` (most likely first, the whole candidate set or a prefix of it) with weights
 * exp((logit − max) / temperature): cut at top-p against `total` (the candidate set's mass, summed
 * in index order), then drawn with `uniform`. Returns null when top-p needs more of the order than
 * `order` holds (complete: whether order is the whole candidate set).
 */
function sampleFrom(logits: ArrayLike<number>, order: number[], complete: boolean, total: number, max: number, o: SamplingOptions, uniform: () => number): number | null {
  const temperature = o.temperature!;
  const weights = order.map((v) => Math.exp((logits[v] - max) / temperature));
  let n = weights.length;
  if (o.topP !== undefined && o.topP < 1) {
    let cum = 0;
    let reached = false;
    for (let i = 0; i < weights.length; i++) {
      cum += weights[i] / total;
      if (cum >= o.topP) {
        n = i + 1;
        reached = true;
        break;
      }
    }
    if (!reached && !complete) return null;
  }
  const kept = weights.slice(0, n);
  const keptTotal = kept.reduce((a, b) => a + b, 0);
  let u = uniform() * keptTotal;
  for (let i = 0; i < n; i++) {
    u -= kept[i];
    if (u < 0) return order[i];
  }
  return order[n - 1];
}

/** The candidate set's mass: exp((logit − max) / temperature) over `members` in index order. */
function mass(logits: ArrayLike<number>, members: Iterable<number>, max: number, temperature: number): number {
  let total = 0;
  for (const v of members) total += Math.exp((logits[v] - max) / temperature);
  return total;
}

function candidates(logits: ArrayLike<number>, o: SamplingOptions): { keep: number; max: number; allTokens: boolean } {
  const V = logits.length;
  const keep = o.topK && o.topK > 0 ? Math.min(o.topK, V) : V;
  return { keep, max: logits[argmaxOf(logits)], allTokens: keep === V };
}

/** Every token a candidate (no top-k, no top-p): no order is needed, the walk goes by index. */
function unrestricted(o: SamplingOptions, keep: number, V: number): boolean {
  return keep === V && !(o.topP !== undefined && o.topP < 1);
}

/** The reference: the whole vocabulary sorted, then sampleFrom. */
export function pickTokenBySorting(logits: ArrayLike<number>, o: SamplingOptions, uniform: () => number): number {
  if ((o.temperature ?? 0) === 0) return argmaxOf(logits);
  const V = logits.length;
  const { keep, max } = candidates(logits, o);
  const byIndex = Array.from({ length: V }, (_, v) => v);
  const order = unrestricted(o, keep, V) ? byIndex : byIndex.sort((a, b) => (before(logits, a, b) ? -1 : 1)).slice(0, keep);
  const total = mass(logits, [...order].sort((a, b) => a - b), max, o.temperature!);
  return sampleFrom(logits, order, true, total, max, o, uniform)!;
}

/** The next token from one row of logits: the argmax, or a sample under temperature, top-k, top-p. */
export function pickToken(logits: ArrayLike<number>, o: SamplingOptions, uniform: () => number): number {
  if ((o.temperature ?? 0) === 0) return argmaxOf(logits);
  const V = logits.length;
  const { keep, max, allTokens } = candidates(logits, o);
  const temperature = o.temperature!;
  const topP = o.topP !== undefined && o.topP < 1;
  if (unrestricted(o, keep, V)) {
    // sampleFrom's arithmetic over the tokens by index, in one typed array.
    const w = new Float64Array(V);
    let total = 0;
    for (let v = 0; v < V; v++) total += w[v] = Math.exp((logits[v] - max) / temperature);
    let u = uniform() * total;
    for (let v = 0; v < V; v++) {
      u -= w[v];
      if (u < 0) return v;
    }
    return V - 1;
  }
  if (!topP) return sampleFrom(logits, topTokens(logits, keep), true, 0, max, o, uniform)!;
  // Top-p: the mass of the top-k set (every token, without top-k) in index order, then a sorted
  // prefix that grows until it holds topP of it.
  let total: number;
  if (allTokens) {
    total = 0;
    for (let v = 0; v < V; v++) total += Math.exp((logits[v] - max) / temperature);
  } else {
    total = mass(logits, topTokens(logits, keep).sort((a, b) => a - b), max, temperature);
  }
  for (let count = Math.min(64, keep); ; count = Math.min(8 * count, keep)) {
    const picked = sampleFrom(logits, topTokens(logits, count), count === keep, total, max, o, uniform);
    if (picked !== null) return picked;
  }
}
