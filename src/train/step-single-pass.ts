// A step in one pass per micro-batch: tokenize it, then in one tidy() the policy log-probs with
// gradient, the reference's and whatever else the loss needs without, the loss, backward() on the
// loss times 1/k (so the gradients add up to the mean, as transformers), and after the last
// micro-batch the total gradient norm; one read-back per micro-batch. The step's gradient is that of
// one batch of k·b rows when the loss is a mean over pairs; otherwise each micro-batch is a loss of
// its own (contrastScope 'micro-batch'). Under data parallelism a rank runs its share [from, to) of
// the step's k micro-batches, each still scaled by 1/k, so the ranks' gradients add up to the step's.
// Its last micro-batch's backward takes share.lastBackward (where the gradient sum's hook starts).
import { tidy } from '../autograd/scope.js';
import { setDropoutState } from '../autograd/random.js';
import { zerosLike } from '../autograd/create.js';
import { cast, mul } from '../kernels/elementwise/op.js';
import { concat, reshape } from '../kernels/copy/op.js';
import { totalGradNorm } from '../optim/grad-norm.js';
import { tokenizePreferenceBatch } from '../data/tokenize.js';
import { type TrainBatch, buildBatch, disposeTokenized, sumLengths, tokenizeKlRows } from './batch.js';
import { type StepContext, type StepOutcome, dropoutSeedOf } from './step.js';
import { type PlannedMicroBatch, recordsAt, whereIs } from './step-plan.js';
import type { StepShare } from './data-parallel.js';

export async function singlePassStep(ctx: StepContext, stepNo: number, plan: PlannedMicroBatch[], share?: StepShare): Promise<StepOutcome> {
  const { policy, needs } = ctx;
  const k = plan.length;
  // Metrics by name: each the mean over the micro-batches that report it.
  const sums = new Map<string, { sum: number; count: number }>();
  let lossSum = 0;
  let gradNorm = 0;
  let tokens = 0;
  let chosenRows = 0, rejectedRows = 0;
  const { from, to } = share ?? { from: 0, to: k };
  for (const [micro, m] of plan.entries()) {
    if (micro < from || micro >= to) continue;
    const tok: TrainBatch = await tokenizePreferenceBatch(ctx.tokenizer, ctx.dataset, m.index, ctx.tokenize);
    const last = micro === to - 1;
    let names: string[] = [];
    let values: Float32Array | Float64Array;
    try {
      if (needs.klEstimate) tok.kl = await tokenizeKlRows(ctx.tokenizer, ctx.dataset, m.index, ctx.tokenize);
      if (ctx.prompts) await ctx.prompts.fill([...tok.chosenPromptIds, ...tok.rejectedPromptIds]);
      setDropoutState(dropoutSeedOf(ctx.seed, stepNo, micro));
      policy.train();
      const packed = tidy(() => {
        const batch = buildBatch(tok, policy, ctx.reference, needs, ctx.dtype, ctx.prompts);
        const out = ctx.loss.compute(batch, ctx.config);
        (k === 1 ? out.loss : mul(out.loss, 1 / k)).backward(undefined, last ? share?.lastBackward : undefined);
        names = Object.keys(out.metrics);
        // After the last micro-batch the total gradient norm rides along in the same read-back
        // (clipping needs it on the host).
        const norm = (last ? totalGradNorm(policy.parameters()) : null) ?? zerosLike(out.loss);
        const scalars = [out.loss, ...names.map((n) => out.metrics[n]), norm].map((t) => reshape(cast(t, out.loss.dtype), [1]));
        return concat(scalars, 0);
      });
      values = (await packed.data()) as Float32Array | Float64Array;
      packed.dispose();
    } finally {
      disposeTokenized(tok);
    }
    const lossValue = values[0];
    if (last) gradNorm = values[names.length + 1];
    if (!Number.isFinite(lossValue) || (last && !Number.isFinite(gradNorm))) {
      const what = Number.isFinite(lossValue) ? `the gradient norm is ${gradNorm}` : `loss is ${lossValue}`;
      throw ctx.refuse(stepNo, whereIs(m, micro, k), what, recordsAt(ctx.dataset, m.index.indices));
    }
    lossSum += lossValue / k;
    names.forEach((n, i) => {
      const s = sums.get(n) ?? { sum: 0, count: 0 };
      sums.set(n, { sum: s.sum + values[i + 1] / k, count: s.count + 1 });
    });
    tokens += sumLengths(tok.chosen) + sumLengths(tok.rejected);
    chosenRows += m.index.m / k;
    rejectedRows += m.index.n / k;
  }
  const metrics: Record<string, number> = {};
  for (const [n, s] of sums) metrics[n] = s.count === k ? s.sum : (s.sum * k) / s.count;
  return { loss: lossSum, metrics, gradNorm, tokens, lossRows: { chosen: chosenRows, rejected: rejectedRows }, ...(share ? { metricSums: Object.fromEntries(sums) } : {}) };
}
