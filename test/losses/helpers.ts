// Shared by the loss tests: the golden file (written by golden/make_golden.py) and batches built
// from its plain-number form on either device.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as r from '../../src/index.js';
import type { Device, DType, PreferenceBatch, Tensor } from '../../src/index.js';

export interface SideJson {
  policyLogps: number[];
  refLogps: number[];
  tokenCounts: number[];
  promptEmbeddings: number[][];
  promptIds: number[];
}
export interface BatchJson {
  paired: boolean;
  chosen: SideJson;
  rejected: SideJson;
  kl: { policyLogps: number[]; refLogps: number[] };
}
export interface CaseJson {
  id: string;
  loss: string;
  batch: string;
  config: Record<string, number | boolean | string>;
  value: number;
  grad: { chosen: number[]; rejected: number[] };
  metrics: Record<string, number>;
  /** A weighted sum of losses (loss 'mix'): its terms. */
  terms?: { loss: string; weight: number; config: Record<string, number | boolean | string> }[];
}
export interface Golden {
  torch: string;
  defaults: Record<string, Record<string, number | boolean | string>>;
  batches: Record<string, BatchJson>;
  cases: CaseJson[];
}

/** The repository root, from dist/test/losses/ (compiled) or test/losses/ (source). */
export const repoRoot = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url));

export const golden: Golden = JSON.parse(readFileSync(`${repoRoot}test/losses/golden/losses.json`, 'utf8'));

export interface BuiltBatch {
  batch: PreferenceBatch;
  /** The differentiable leaves: policy log-probs of each side. */
  chosen: Tensor;
  rejected: Tensor;
}

/** Which parts of the JSON batch to leave out, to test refusals. */
export interface Omit {
  ref?: boolean;
  counts?: boolean;
  embeddings?: boolean;
  kl?: boolean;
}

export function buildBatch(b: BatchJson, device: Device, dtype: DType, omit: Omit = {}): BuiltBatch {
  const opts = { device, dtype };
  const side = (s: SideJson, leaf: Tensor) => ({
    policyLogps: leaf,
    ...(omit.ref ? {} : { refLogps: r.tensor(s.refLogps, [s.refLogps.length], opts) }),
    ...(omit.counts ? {} : { tokenCounts: r.tensor(s.tokenCounts, [s.tokenCounts.length], opts) }),
    ...(omit.embeddings ? {} : { promptEmbeddings: r.tensor(s.promptEmbeddings, undefined, opts) }),
    promptIds: s.promptIds,
  });
  const chosen = r.tensor(b.chosen.policyLogps, [b.chosen.policyLogps.length], { ...opts, requiresGrad: true });
  const rejected = r.tensor(b.rejected.policyLogps, [b.rejected.policyLogps.length], { ...opts, requiresGrad: true });
  const batch: PreferenceBatch = {
    paired: b.paired,
    chosen: side(b.chosen, chosen),
    rejected: side(b.rejected, rejected),
    ...(omit.kl ? {} : { kl: { policyLogps: r.tensor(b.kl.policyLogps, [b.kl.policyLogps.length], opts), refLogps: r.tensor(b.kl.refLogps, [b.kl.refLogps.length], opts) } }),
  };
  return { batch, chosen, rejected };
}

export interface Evaluated {
  value: number;
  gradChosen: number[];
  gradRejected: number[];
  metrics: Record<string, number>;
}

/** Runs a registered loss on a batch, backward included, and reads everything back. */
export async function evaluate(loss: string | r.RegisteredLoss, built: BuiltBatch, config: Record<string, unknown> = {}): Promise<Evaluated> {
  const l = typeof loss === 'string' ? r.getLoss(loss) : loss;
  const out = r.tidy(() => {
    const { loss: value, metrics } = l.compute(built.batch, config as never);
    value.backward();
    return { value, metrics };
  });
  const zeros = (t: Tensor) => new Array<number>(t.size).fill(0);
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(out.metrics)) metrics[k] = await v.item();
  const res = {
    value: await out.value.item(),
    gradChosen: built.chosen.grad ? Array.from(await built.chosen.grad.data()) : zeros(built.chosen),
    gradRejected: built.rejected.grad ? Array.from(await built.rejected.grad.data()) : zeros(built.rejected),
    metrics,
  };
  out.value.dispose();
  for (const v of Object.values(out.metrics)) v.dispose();
  return res;
}

/** Both devices with their dtype and tolerance: cpu float64 (the reference) and webgpu float32. */
export async function devices(gpu: Device | null): Promise<{ device: Device; dtype: DType; tol: { rtol: number; atol: number } }[]> {
  const list: { device: Device; dtype: DType; tol: { rtol: number; atol: number } }[] = [
    { device: r.cpuDevice(), dtype: 'float64', tol: { rtol: 1e-9, atol: 1e-12 } },
  ];
  if (gpu) list.push({ device: gpu, dtype: 'float32', tol: { rtol: 2e-4, atol: 3e-6 } });
  return list;
}
