// The per-row scalars a loss reads, on the host, and the one place where those of a step meet.
// Pass 1 of a step-scope step yields them per micro-batch (RowScalars); gatherStepRows lays them
// out in the step's row order; stepBatch turns the result into the PreferenceBatch the loss
// computes on, with the policy log-probs as leaves whose gradients pass 2 back-propagates. Rows
// from other devices or processes join a step here.
import type { Tensor } from '../autograd/tensor.js';
import type { Device } from '../autograd/device.js';
import { tensor } from '../autograd/create.js';
import { cast } from '../kernels/elementwise/op.js';
import { concat, reshape } from '../kernels/copy/op.js';
import type { PreferenceBatch, PreferenceSide } from '../losses/types.js';
import type { WireReader, WireWriter } from './rank-wire.js';

/** One side's rows (chosen or rejected): values without graph, as float64 on the host. */
export interface SideScalars {
  /** Which prompt each row answers. */
  promptIds: number[];
  /** Σ log p(completion) under the policy: the differentiable field (pass 2 re-computes it with a graph). */
  policyLogps: Float64Array;
  refLogps?: Float64Array;
  tokenCounts?: Float64Array;
  /** [rows × embeddingDim], row-major. */
  promptEmbeddings?: Float64Array;
  /** KTO's mismatched row at this row's position of the step: its policy and reference log-probs. */
  klPolicyLogps?: Float64Array;
  klRefLogps?: Float64Array;
  /** Chosen side: Σ log p over prompt and completion, differentiable (pass 2 re-computes it with a graph), and its token counts. */
  fullLogps?: Float64Array;
  fullTokenCounts?: Float64Array;
  /** Chosen side: Σ log p(completion) with every token counting 1 under LD-DPO, differentiable (pass 2 re-computes it with a graph). */
  unweightedLogps?: Float64Array;
  /** WPO's per-row weights (constants). */
  wpoWeights?: Float64Array;
}

/** The per-row fields a loss may differentiate; ∂L/∂ each is what pass 2 back-propagates. */
export const DIFFERENTIABLE = ['policyLogps', 'fullLogps', 'unweightedLogps'] as const;
export type DifferentiableField = (typeof DIFFERENTIABLE)[number];
/** Fields only the chosen side carries. */
export const CHOSEN_ONLY: readonly string[] = ['fullLogps', 'fullTokenCounts', 'unweightedLogps'];

/** ∂L/∂(each differentiable field a side carries), one value per row. */
export type RowGrads = Record<'chosen' | 'rejected', Partial<Record<DifferentiableField, Float64Array>>>;

/** The rows [from, to) of each side's gradients. */
export function sliceRowGrads(g: RowGrads, chosen: [number, number], rejected: [number, number]): RowGrads {
  const cut = (side: RowGrads['chosen'], [from, to]: [number, number]) =>
    Object.fromEntries(Object.entries(side).map(([f, v]) => [f, v!.subarray(from, to)])) as RowGrads['chosen'];
  return { chosen: cut(g.chosen, chosen), rejected: cut(g.rejected, rejected) };
}

/** The rows of a micro-batch, of a step, or (later) of one process's share of a step. */
export interface RowScalars {
  paired: boolean;
  chosen: SideScalars;
  rejected: SideScalars;
  embeddingDim?: number;
}

const FIELDS = ['policyLogps', 'refLogps', 'tokenCounts', 'promptEmbeddings', 'klPolicyLogps', 'klRefLogps', 'fullLogps', 'fullTokenCounts', 'unweightedLogps', 'wpoWeights'] as const;

/**
 * Rows as binary words (another rank's part of a step): paired, the embedding width (−1: none),
 * then each side's prompt ids and every field (absent or of any length), each double exact.
 */
export function writeRowScalars(w: WireWriter, rows: RowScalars): void {
  w.number(rows.paired ? 1 : 0).number(rows.embeddingDim ?? -1);
  for (const s of [rows.chosen, rows.rejected]) {
    w.numbers(s.promptIds);
    for (const f of FIELDS) w.numbers(s[f]);
  }
}

export function readRowScalars(r: WireReader): RowScalars {
  const paired = r.number() === 1, dim = r.number();
  const side = (): SideScalars => {
    const out: SideScalars = { promptIds: Array.from(r.numbers()!), policyLogps: new Float64Array(0) };
    for (const f of FIELDS) {
      const v = r.numbers();
      if (v) out[f] = v;
    }
    return out;
  };
  const chosen = side(), rejected = side();
  return { paired, chosen, rejected, ...(dim === -1 ? {} : { embeddingDim: dim }) };
}

function concatArrays(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The gather point: the parts' rows in the step's row order (every part's chosen rows in turn,
 * then every part's rejected rows), the order of mergeIndexBatches. Every part must carry the same
 * fields; a side with no rows in a part contributes nothing.
 */
export function gatherStepRows(parts: RowScalars[]): RowScalars {
  if (parts.length === 0) throw new Error('gatherStepRows: no parts');
  const dims = new Set(parts.map((p) => p.embeddingDim).filter((d) => d !== undefined));
  if (dims.size > 1) throw new Error(`gatherStepRows: prompt embeddings of different widths (${[...dims].join(', ')})`);
  const side = (name: 'chosen' | 'rejected'): SideScalars => {
    const out: SideScalars = { promptIds: parts.flatMap((p) => p[name].promptIds), policyLogps: new Float64Array(0) };
    for (const f of FIELDS) {
      const have = parts.filter((p) => p[name][f] !== undefined).length;
      if (have === 0) continue;
      if (have !== parts.length) throw new Error(`gatherStepRows: ${name}.${f} is in ${have} of ${parts.length} parts`);
      out[f] = concatArrays(parts.map((p) => p[name][f]!));
    }
    return out;
  };
  return { paired: parts[0].paired, chosen: side('chosen'), rejected: side('rejected'), ...(dims.size ? { embeddingDim: [...dims][0] } : {}) };
}

/**
 * The PreferenceBatch of some rows, as tensors on `device` in `dtype`; each differentiable field
 * (policyLogps, fullLogps, unweightedLogps) is a fresh leaf that requires grad, so after backward its .grad holds
 * ∂L/∂(that field).
 */
export function stepBatch(rows: RowScalars, device: Device, dtype: 'float32' | 'float64'): PreferenceBatch {
  const t = (v: Float64Array, shape: number[], requiresGrad = false): Tensor =>
    tensor(dtype === 'float32' ? Float32Array.from(v) : v, shape, { device, dtype, requiresGrad });
  const side = (s: SideScalars): PreferenceSide => {
    const R = s.policyLogps.length;
    const out: PreferenceSide = { policyLogps: t(s.policyLogps, [R], true), promptIds: s.promptIds };
    if (s.refLogps) out.refLogps = t(s.refLogps, [R]);
    if (s.tokenCounts) out.tokenCounts = t(s.tokenCounts, [R]);
    if (s.promptEmbeddings) out.promptEmbeddings = t(s.promptEmbeddings, [R, rows.embeddingDim!]);
    if (s.fullLogps) out.fullLogps = t(s.fullLogps, [R], true);
    if (s.fullTokenCounts) out.fullTokenCounts = t(s.fullTokenCounts, [R]);
    if (s.unweightedLogps) out.unweightedLogps = t(s.unweightedLogps, [R], true);
    if (s.wpoWeights) out.wpoWeights = t(s.wpoWeights, [R]);
    return out;
  };
  const batch: PreferenceBatch = { paired: rows.paired, chosen: side(rows.chosen), rejected: side(rows.rejected) };
  const c = rows.chosen, r = rows.rejected;
  if (c.klPolicyLogps && r.klPolicyLogps && c.klRefLogps && r.klRefLogps) {
    const K = c.klPolicyLogps.length + r.klPolicyLogps.length;
    batch.kl = { policyLogps: t(concatArrays([c.klPolicyLogps, r.klPolicyLogps]), [K]), refLogps: t(concatArrays([c.klRefLogps, r.klRefLogps]), [K]) };
  }
  return batch;
}

/** Tensors packed into one flat tensor of `dtype` (one read-back), and how to cut the values apart. */
export function packTensors(named: [string, Tensor][], dtype: 'float32' | 'float64'): { packed: Tensor; layout: [string, number][] } {
  const flat = named.map(([, t]) => reshape(t.dtype === dtype ? t : cast(t, dtype), [t.size]));
  return { packed: concat(flat, 0), layout: named.map(([k, t]) => [k, t.size]) };
}

/** The values of a packTensors result by name, as float64. */
export function unpackValues(values: ArrayLike<number>, layout: [string, number][]): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  let at = 0;
  for (const [k, n] of layout) {
    out.set(k, Float64Array.from({ length: n }, (_, i) => values[at + i]));
    at += n;
  }
  return out;
}
