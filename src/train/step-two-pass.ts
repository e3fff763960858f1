// A step whose loss is evaluated once over all its rows (contrastScope 'step'), at the activation
// memory of one micro-batch: the GradCache idea (Gao et al., 2021) applied to sequence log-probs.
//   pass 1  each micro-batch's forwards without a graph (the last one's policy forward with its
//           graph, kept): the per-row scalars the loss reads (policy and reference log-probs,
//           token counts, prompt embeddings, KTO's KL rows);
//   loss    the loss over the step's rows with a graph on those scalars only: ∂L/∂(each row's
//           differentiable fields: its policy log-prob, and over prompt and completion when the
//           loss reads that, and unweighted under LD-DPO when a term reads those);
//   pass 2  back-propagating Σ g·field (g held constant): the last micro-batch through the graph
//           it kept, each other one through its policy forward run again with a graph. The
//           parameter gradients are those of one batch of k·b rows.
// Only k − 1 policy forwards run twice; each micro-batch replays its pass-1 dropout masks. Under
// data parallelism a rank runs its share of the micro-batches, the ranks' pass-1 rows meet
// (share.gather, which makes a rank's failure in pass 1 every rank's) so every rank evaluates the
// same loss over the whole step, and each rank back-propagates its own rows' gradients.
// Its last backward of pass 2 takes share.lastBackward (where the gradient sum's hook starts).
import type { Tensor } from '../autograd/tensor.js';
import type { BackwardOptions } from '../autograd/backward.js';
import { noGrad, tidy } from '../autograd/scope.js';
import { setDropoutState } from '../autograd/random.js';
import { tensor, zerosLike } from '../autograd/create.js';
import { add, mul } from '../kernels/elementwise/op.js';
import { sum } from '../kernels/reduce/op.js';
import { totalGradNorm } from '../optim/grad-norm.js';
import { type TokenizedRows, tokenizePreferenceBatch, tokenizeRows, tokenizeUnpairedRows } from '../data/tokenize.js';
import { applyVerboseWeight, disposeRows, klRowTexts, sumLengths, wantedFields } from './batch.js';
import { type SideFields, meanPromptEmbeddings, sideFields, sideLogps, tokenCounts } from './sequence-logps.js';
import { type StepContext, type StepOutcome, dropoutSeedOf } from './step.js';
import { type PlannedMicroBatch, mergeIndexBatches, recordsAt, whereIs } from './step-plan.js';
import type { RowShare } from './data-parallel.js';
import { faultPoint } from './fault-points.js';
import {
  CHOSEN_ONLY, DIFFERENTIABLE, type DifferentiableField, type RowGrads, type RowScalars, type SideScalars,
  gatherStepRows, packTensors, sliceRowGrads, stepBatch, unpackValues,
} from './step-rows.js';

type SideName = 'chosen' | 'rejected';

/** A micro-batch, tokenized: a side with no rows (unpaired data) is absent and not run. */
export interface MicroBatchRows {
  plan: PlannedMicroBatch;
  chosen?: TokenizedRows;
  rejected?: TokenizedRows;
  /** KTO's mismatched rows at this micro-batch's positions of the step: its chosen rows', then its rejected rows'. */
  kl?: TokenizedRows;
}

const sidesOf = (mb: MicroBatchRows): SideName[] => (['chosen', 'rejected'] as const).filter((s) => mb[s] !== undefined);

export function disposeMicroBatch(mb: MicroBatchRows): void {
  disposeRows(mb.chosen, mb.rejected, mb.kl);
}

/**
 * Tokenizes the step's micro-batches. The step must hold both sides (a micro-batch need not), and
 * KTO's KL rows are built over the step in its row order (mergeIndexBatches), as for one batch of
 * the step's records, then cut at each micro-batch's positions.
 */
export async function tokenizeStep(ctx: StepContext, stepNo: number, plan: PlannedMicroBatch[], from = 0, to = plan.length): Promise<MicroBatchRows[]> {
  const merged = mergeIndexBatches(plan.map((m) => m.index));
  if (merged.m === 0 || merged.n === 0) {
    throw new Error(
      `trainPreference: step ${stepNo}'s ${plan.length} micro-batches (${recordsAt(ctx.dataset, merged.indices)}) hold no ${merged.m === 0 ? 'desirable' : 'undesirable'} rows, ` +
        'and a step needs both; use a larger batchSize or more gradientAccumulationSteps',
    );
  }
  const kl = ctx.needs.klEstimate ? klRowTexts(ctx.tokenizer, ctx.dataset, merged) : undefined;
  if (ctx.prompts) await ctx.prompts.fill([...merged.chosenPromptIds, ...merged.rejectedPromptIds]);
  const out: MicroBatchRows[] = [];
  let c = 0, r = merged.m;
  try {
    for (const [i, m] of plan.entries()) {
      const { index } = m;
      if (i < from || i >= to) {
        c += index.m;
        r += index.n;
        continue;
      }
      const mb: MicroBatchRows = { plan: m };
      out.push(mb);
      if (index.m > 0 && index.n > 0) {
        const tok = await tokenizePreferenceBatch(ctx.tokenizer, ctx.dataset, index, ctx.tokenize);
        mb.chosen = tok.chosen;
        mb.rejected = tok.rejected;
      } else {
        const side: SideName = index.m > 0 ? 'chosen' : 'rejected';
        mb[side] = await tokenizeUnpairedRows(ctx.tokenizer, ctx.dataset, index[side], ctx.tokenize);
      }
      applyVerboseWeight({ paired: index.paired, chosen: mb.chosen, rejected: mb.rejected }, ctx.needs);
      if (kl) mb.kl = await tokenizeRows(ctx.tokenizer, [...kl.slice(c, c + index.m), ...kl.slice(r, r + index.n)], ctx.tokenize);
      c += index.m;
      r += index.n;
    }
  } catch (e) {
    out.forEach(disposeMicroBatch);
    throw e;
  }
  return out;
}

/** The differentiable fields of a micro-batch's sides, with their graph. */
type SideLogps = Partial<Record<SideName, Partial<Record<DifferentiableField, Tensor>>>>;

/** The differentiable fields among a side's fields, by their batch names. */
function differentiableOf(f: SideFields): Partial<Record<DifferentiableField, Tensor>> {
  return { policyLogps: f.logps, ...(f.fullLogps ? { fullLogps: f.fullLogps } : {}), ...(f.unweightedLogps ? { unweightedLogps: f.unweightedLogps } : {}) };
}

/** What pass 1 leaves of a micro-batch: its scalars packed for one read-back, and its graph when kept. */
interface Scored {
  packed: Tensor;
  layout: [string, number][];
  graph?: SideLogps;
}

/**
 * Pass 1 of a micro-batch: its per-row scalars, packed for one read-back. The policy's forwards come
 * first (chosen, then rejected), so that pass 2, run from the same dropout state, draws the same
 * masks. With `keepGraph` the policy's forwards record their graph and it is returned: the step's
 * last micro-batch keeps it until the row gradients are known, and skips pass 2 (one forward saved,
 * at the memory one micro-batch's graph takes anyway).
 */
export function scoreMicroBatch(ctx: StepContext, mb: MicroBatchRows, dropoutSeed: number, keepGraph = false): Scored {
  const { policy, needs, reference, dtype } = ctx;
  setDropoutState(dropoutSeed);
  policy.train();
  return tidy(() => {
    const named: [string, Tensor][] = [];
    const graph: SideLogps = {};
    const sides = sidesOf(mb);
    for (const s of sides) {
      const run = () => sideFields(policy, mb[s]!, wantedFields(needs, s));
      const f = keepGraph ? run() : noGrad(run);
      if (keepGraph) graph[s] = differentiableOf(f);
      named.push([`${s}.policyLogps`, f.logps]);
      if (f.fullLogps) named.push([`${s}.fullLogps`, f.fullLogps], [`${s}.fullTokenCounts`, f.fullTokenCounts!]);
      if (f.unweightedLogps) named.push([`${s}.unweightedLogps`, f.unweightedLogps]);
      if (f.wpoWeights) named.push([`${s}.wpoWeights`, f.wpoWeights]);
    }
    return noGrad(() => {
      for (const s of sides) {
        const rows = mb[s]!;
        if (needs.reference && reference) named.push([`${s}.refLogps`, reference(rows)]);
        if (needs.tokenAverage) named.push([`${s}.tokenCounts`, tokenCounts(rows, dtype)]);
        if (needs.promptEmbeddings && !ctx.prompts) named.push([`${s}.promptEmbeddings`, meanPromptEmbeddings(policy, rows)]);
      }
      if (mb.kl && reference) {
        named.push(['kl.policyLogps', sideLogps(policy, mb.kl)]);
        named.push(['kl.refLogps', reference(mb.kl)]);
      }
      return { ...packTensors(named, dtype), ...(keepGraph ? { graph } : {}) };
    });
  });
}

/** A micro-batch's pass-1 values as RowScalars (an absent side has no rows). */
function rowScalarsOf(ctx: StepContext, mb: MicroBatchRows, values: Map<string, Float64Array>): RowScalars {
  const { index } = mb.plan;
  const out: RowScalars = {
    paired: index.paired,
    chosen: { promptIds: index.chosenPromptIds, policyLogps: new Float64Array(0) },
    rejected: { promptIds: index.rejectedPromptIds, policyLogps: new Float64Array(0) },
  };
  const fields = ['policyLogps', 'refLogps', 'tokenCounts', 'promptEmbeddings', 'fullLogps', 'fullTokenCounts', 'unweightedLogps', 'wpoWeights'] as const;
  for (const s of ['chosen', 'rejected'] as const) {
    const side: SideScalars = out[s];
    const rows = s === 'chosen' ? index.m : index.n;
    for (const f of fields) {
      const v = values.get(`${s}.${f}`);
      if (v) side[f] = v;
      else if (rows === 0 && values.has(`${s === 'chosen' ? 'rejected' : 'chosen'}.${f}`) && !(s === 'rejected' && CHOSEN_ONLY.includes(f))) side[f] = new Float64Array(0);
    }
    if (side.promptEmbeddings && rows > 0) out.embeddingDim = side.promptEmbeddings.length / rows;
    if (ctx.prompts && ctx.needs.promptEmbeddings) {
      const e = ctx.prompts.hostRows(side.promptIds);
      side.promptEmbeddings = e.values;
      out.embeddingDim = e.dim;
    }
    const klP = values.get('kl.policyLogps'), klR = values.get('kl.refLogps');
    if (klP && klR) {
      const [from, to] = s === 'chosen' ? [0, index.m] : [index.m, index.m + index.n];
      side.klPolicyLogps = klP.subarray(from, to);
      side.klRefLogps = klR.subarray(from, to);
    }
  }
  return out;
}

/** The first non-finite value among the per-row scalars, described, or null. */
function nonFinite(values: Map<string, Float64Array>): string | null {
  for (const [k, v] of values) {
    const i = v.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) return `${k}[${i}] is ${v[i]}`;
  }
  return null;
}

/** The loss over the step's rows, its metrics, and ∂L/∂(each row's differentiable fields), read back once. */
export async function lossOverStep(ctx: StepContext, rows: RowScalars): Promise<{ loss: number; metrics: Record<string, number>; grads: RowGrads }> {
  const device = ctx.policy.device;
  let names: string[] = [];
  const { packed, layout } = tidy(() => {
    const batch = stepBatch(rows, device, ctx.dtype);
    const out = ctx.loss.compute(batch, ctx.config);
    out.loss.backward();
    names = Object.keys(out.metrics);
    // A loss may leave a field unread (sft the rejected side's log-probs): its rows then get no gradient.
    const grads: [string, Tensor][] = [];
    for (const s of ['chosen', 'rejected'] as const) {
      for (const f of DIFFERENTIABLE) {
        const leaf = batch[s][f];
        if (leaf) grads.push([`grad/${s}/${f}`, leaf.grad ?? zerosLike(leaf)]);
      }
    }
    return packTensors([['loss', out.loss], ...names.map((n): [string, Tensor] => [`metric/${n}`, out.metrics[n]]), ...grads], ctx.dtype);
  });
  let values: Map<string, Float64Array>;
  try {
    values = unpackValues(await packed.data(), layout);
  } finally {
    packed.dispose();
  }
  const metrics: Record<string, number> = {};
  for (const n of names) metrics[n] = values.get(`metric/${n}`)![0];
  const grads: RowGrads = { chosen: {}, rejected: {} };
  for (const [k, v] of values) {
    const [head, s, f] = k.split('/');
    if (head === 'grad') grads[s as SideName][f as DifferentiableField] = v;
  }
  return { loss: values.get('loss')![0], metrics, grads };
}

/** Back-propagates Σ g·field through differentiable fields that carry their graph, into the parameters' .grad. */
function backwardRows(ctx: StepContext, logps: SideLogps, grads: RowGrads, opts?: BackwardOptions): void {
  const { policy, dtype } = ctx;
  tidy(() => {
    let total: Tensor | undefined;
    for (const s of ['chosen', 'rejected'] as const) {
      for (const f of DIFFERENTIABLE) {
        const field = logps[s]?.[f], rowGrads = grads[s][f];
        if (!field || !rowGrads) continue;
        const g = tensor(dtype === 'float32' ? Float32Array.from(rowGrads) : rowGrads, [rowGrads.length], { device: policy.device, dtype });
        const term = sum(mul(field, g));
        total = total ? add(total, term) : term;
      }
    }
    total?.backward(undefined, opts);
  });
}

/** Pass 2 of a micro-batch: its differentiable fields again, with a graph, back-propagating Σ g·field into the parameters' .grad. */
export function backpropagate(ctx: StepContext, mb: MicroBatchRows, grads: RowGrads, dropoutSeed: number, opts?: BackwardOptions): void {
  const { policy } = ctx;
  setDropoutState(dropoutSeed);
  policy.train();
  tidy(() => {
    const logps: SideLogps = {};
    for (const s of sidesOf(mb)) {
      // WPO's weights are constants: only the fields with a gradient are computed again.
      const { full, unweighted } = wantedFields(ctx.needs, s);
      logps[s] = differentiableOf(sideFields(policy, mb[s]!, { full, unweighted }));
    }
    backwardRows(ctx, logps, grads, opts);
  });
}

/** The two-pass step: its gradients land in the parameters' .grad. */
export async function twoPassStep(ctx: StepContext, stepNo: number, plan: PlannedMicroBatch[], share?: RowShare): Promise<StepOutcome> {
  const k = plan.length;
  const { from, to } = share ?? { from: 0, to: k };
  let micro: MicroBatchRows[] = [];
  const own = to - from;
  // Where each micro-batch's rows start in the step's row order.
  const starts = plan.reduce<[number, number][]>((a, m, i) => [...a, i === 0 ? [0, 0] : [a[i - 1][0] + plan[i - 1].index.m, a[i - 1][1] + plan[i - 1].index.n]], []);
  const rowsOf = (i: number) => sliceRange(starts[i], plan[i].index);
  const merged = mergeIndexBatches(plan.map((m) => m.index));
  const stepRecords = () => recordsAt(ctx.dataset, merged.indices);
  const whereStep = `epoch ${plan[0].epoch}, batch ${plan[0].batchInEpoch}, ${k} micro-batches`;
  try {
    // Pass 1: every micro-batch is recorded before any is read back, so the device never waits; the
    // last one keeps its graph.
    const scored: Scored[] = [];
    let step: Awaited<ReturnType<typeof lossOverStep>>;
    try {
      // This rank's rows; under several ranks they meet the others' (a failure here is every rank's).
      const ownRows = async (): Promise<RowScalars> => {
        micro = await tokenizeStep(ctx, stepNo, plan, from, to);
        micro.forEach((mb, i) => scored.push(scoreMicroBatch(ctx, mb, dropoutSeedOf(ctx.seed, stepNo, from + i), i === own - 1)));
        const parts: RowScalars[] = [];
        for (const [i, { packed, layout }] of scored.entries()) {
          const values = unpackValues(await packed.data(), layout);
          const bad = nonFinite(values);
          const at = from + i;
          if (bad) throw ctx.refuse(stepNo, whereIs(plan[at], at, k), `${bad} (pass 1)`, recordsAt(ctx.dataset, plan[at].index.indices));
          parts.push(rowScalarsOf(ctx, micro[i], values));
        }
        return gatherStepRows(parts);
      };
      step = await lossOverStep(ctx, share ? await share.gather(ownRows) : await ownRows());
      if (!Number.isFinite(step.loss)) throw ctx.refuse(stepNo, whereStep, `loss is ${step.loss}`, stepRecords());
      const gradMap = new Map<string, Float64Array>();
      for (const s of ['chosen', 'rejected'] as const) for (const [f, v] of Object.entries(step.grads[s])) gradMap.set(`∂loss/∂${s} ${f}`, v!);
      const badGrad = nonFinite(gradMap);
      if (badGrad) throw ctx.refuse(stepNo, whereStep, badGrad, stepRecords());
      // The last micro-batch back-propagates through the graph pass 1 kept (the share's last backward when it is alone).
      backwardRows(ctx, scored[own - 1].graph!, sliceRowGrads(step.grads, ...rowsOf(to - 1)), own === 1 ? share?.lastBackward : undefined);
    } finally {
      for (const s of scored) {
        s.packed.dispose();
        for (const side of Object.values(s.graph ?? {})) for (const t of Object.values(side)) t.dispose();
      }
    }
    faultPoint('step: pass 2');
    // Pass 2, every other micro-batch with its share of the row gradients.
    for (const [i, mb] of micro.slice(0, own - 1).entries()) {
      backpropagate(ctx, mb, sliceRowGrads(step.grads, ...rowsOf(from + i)), dropoutSeedOf(ctx.seed, stepNo, from + i), i === own - 2 ? share?.lastBackward : undefined);
    }
    const norm = tidy(() => totalGradNorm(ctx.policy.parameters()));
    const gradNorm = norm ? (await norm.data())[0] : 0;
    norm?.dispose();
    if (!Number.isFinite(gradNorm)) throw ctx.refuse(stepNo, whereStep, `the gradient norm is ${gradNorm}`, stepRecords());
    const tokens = micro.reduce((t, mb) => t + sidesOf(mb).reduce((u, s) => u + sumLengths(mb[s]!), 0), 0);
    return { loss: step.loss, metrics: step.metrics, gradNorm, tokens, lossRows: { chosen: merged.m, rejected: merged.n } };
  } finally {
    micro.forEach(disposeMicroBatch);
  }
}

/** A micro-batch's rows [from, to) of each side, from where they start. */
function sliceRange([c, r]: [number, number], index: { m: number; n: number }): [[number, number], [number, number]] {
  return [[c, c + index.m], [r, r + index.n]];
}
