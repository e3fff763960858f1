// Held-out evaluation of a preference loss: the loss and its metrics over a dataset, without
// gradient or updates, averaged over the records (each batch's mean weighted by its records, so
// the result does not depend on the batching). trainPreference runs it every evalSteps steps;
// evaluatePreference (and `relpo eval`) runs it on a checkpoint. Under several ranks each rank
// evaluates a contiguous part of the batches and every rank adds all batches' sums in batch order,
// as one process does.
import { noGrad, tidy } from '../autograd/scope.js';
import { cast } from '../kernels/elementwise/op.js';
import { concat, reshape } from '../kernels/copy/op.js';
import { getLoss } from '../losses/registry.js';
import { lossNeeds } from '../losses/checks.js';
import type { LossConfig } from '../losses/types.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { PreferenceDataset } from '../data/jsonl.js';
import { planPreferenceBatches } from '../data/batches.js';
import { tokenizePreferenceBatch, type TokenizeOptions } from '../data/tokenize.js';
import type { Communicator } from '../distributed/index.js';
import { modelDtype } from './sequence-logps.js';
import { partOf, together } from './data-parallel.js';
import { type WireReader, type WireWriter, allGatherWire } from './rank-wire.js';
import { type ReferenceLogps, type TrainBatch, buildBatch, disposeTokenized, referenceOf, tokenizeKlRows } from './batch.js';
import { type PromptEmbedder, PromptEmbeddingCache } from './prompt-embeddings.js';

/** What one evaluation needs: the loss (resolved), the models, the data and how to tokenize it. */
export interface EvaluationSetup {
  loss: ReturnType<typeof getLoss>;
  config: LossConfig;
  policy: CausalLM;
  reference: ReferenceLogps | undefined;
  tokenizer: TextTokenizer;
  dataset: PreferenceDataset;
  batchSize: number;
  tokenize: Omit<TokenizeOptions, 'device'>;
  prompts?: PromptEmbeddingCache;
  /** Several ranks: each evaluates its part of the batches, every rank gets the whole set's means. */
  communicator?: Communicator;
}

/** One evaluated batch: its records and each number's sum over them (the batch's mean × records). */
interface BatchSums {
  n: number;
  sums: [string, number][];
}

/** The mean loss and metrics over the dataset's records, and how many records that was. */
export async function evaluateLoss(s: EvaluationSetup): Promise<{ means: Map<string, number>; samples: number }> {
  // Evaluation mode (no dropout) for the pass, the caller's mode after it.
  return s.policy.inEvalMode(() => evaluateLossInEvalMode(s));
}

async function evaluateLossInEvalMode(s: EvaluationSetup): Promise<{ means: Map<string, number>; samples: number }> {
  const plan = planPreferenceBatches(s.dataset, { batchSize: s.batchSize, shuffle: false });
  const comm = s.communicator;
  let batches: BatchSums[];
  if (comm && comm.size > 1) {
    const { from, to } = partOf(comm, plan.length);
    const mine = await together(comm, 'in its part of the eval batches', () => evaluateBatches(s, plan.slice(from, to)), 'evaluateLoss');
    // As binary words: each double exact, NaN and ±Infinity included.
    batches = allGatherWire(comm, (w) => writeBatchSums(w, mine), readBatchSums).flat();
  } else {
    batches = await evaluateBatches(s, plan);
  }
  // The batches in order, whichever rank evaluated them: the same additions as one process.
  const sums = new Map<string, number>();
  let samples = 0;
  for (const b of batches) {
    for (const [k, x] of b.sums) sums.set(k, (sums.get(k) ?? 0) + x);
    samples += b.n;
  }
  return { means: new Map([...sums].map(([k, total]) => [k, total / samples])), samples };
}

function writeBatchSums(w: WireWriter, batches: BatchSums[]): void {
  w.number(batches.length);
  for (const b of batches) {
    w.number(b.n).number(b.sums.length);
    for (const [k, x] of b.sums) w.text(k).number(x);
  }
}

function readBatchSums(r: WireReader): BatchSums[] {
  return Array.from({ length: r.number() }, () => {
    const n = r.number();
    return { n, sums: Array.from({ length: r.number() }, (): [string, number] => [r.text(), r.number()]) };
  });
}

async function evaluateBatches(s: EvaluationSetup, plan: ReturnType<typeof planPreferenceBatches>): Promise<BatchSums[]> {
  const needs = lossNeeds(s.loss.plugin, s.config);
  const dtype = modelDtype(s.policy);
  const tokOptions = { ...s.tokenize, device: s.policy.device };
  const out: BatchSums[] = [];
  for (const index of plan) {
    const tok: TrainBatch = await tokenizePreferenceBatch(s.tokenizer, s.dataset, index, tokOptions);
    try {
      if (needs.klEstimate) tok.kl = await tokenizeKlRows(s.tokenizer, s.dataset, index, tokOptions);
      if (s.prompts) await s.prompts.fill([...tok.chosenPromptIds, ...tok.rejectedPromptIds]);
      let names: string[] = [];
      const packed = noGrad(() =>
        tidy(() => {
          const res = s.loss.compute(buildBatch(tok, s.policy, s.reference, needs, dtype, s.prompts), s.config);
          names = ['loss', ...Object.keys(res.metrics)];
          return concat([res.loss, ...names.slice(1).map((k) => res.metrics[k])].map((t) => reshape(cast(t, res.loss.dtype), [1])), 0);
        }),
      );
      const v = await packed.data();
      packed.dispose();
      const n = index.indices.length;
      out.push({ n, sums: names.map((k, i) => [k, v[i] * n]) });
    } finally {
      disposeTokenized(tok);
    }
  }
  return out;
}

/** What training and evaluation share: the models, the data, the loss. */
export interface PreferenceRunOptions {
  /** The model trained or evaluated. */
  policy: CausalLM;
  /**
   * Frozen reference model, for losses that need reference log-probs (dpo, rpo, …). With LoRA
   * (applyLora on the policy) it may be left out: the policy with its adapters off is the
   * reference, as TRL does with PEFT, and no second copy of the weights is held.
   */
  reference?: CausalLM;
  tokenizer: TextTokenizer;
  /** From readPreferenceJsonl (any of TRL's formats; conversational ones need a chat template). */
  dataset: PreferenceDataset;
  /** Registered loss name ('dpo', 'rpo', 'simpo', …). */
  loss: string;
  /** Overrides of the loss's defaults. */
  lossConfig?: Partial<LossConfig>;
  /** Longest tokenized row (BOS + prompt + completion + EOS); see TokenizeOptions. */
  maxLength?: number;
  maxPromptLength?: number;
  /**
   * Embeds prompts for losses that weight by prompt similarity (RPO's 'embedding' weighting), e.g.
   * a SentenceEmbedder (all-MiniLM-L6-v2, as the RPO paper). Each distinct prompt is embedded once
   * and kept on the host. Without it those losses get the mean of the policy's input token
   * embeddings over the prompt (a stand-in; docs/training.md).
   */
  promptEmbedder?: PromptEmbedder;
}

export interface EvaluatePreferenceOptions extends PreferenceRunOptions {
  /** Pairs (or rows) per batch (default 8). */
  batchSize?: number;
  /** Several ranks (communicatorFromEnv under mpirun): each evaluates a part of the batches, every rank gets the whole set's metrics. */
  communicator?: Communicator;
}

/** A checkpoint's loss and metrics (TRL names, e.g. rewards/accuracies) on a preference dataset. */
export async function evaluatePreference(opts: EvaluatePreferenceOptions): Promise<{ metrics: Record<string, number>; samples: number }> {
  const loss = getLoss(opts.loss);
  const config = loss.resolveConfig(opts.lossConfig);
  const needs = lossNeeds(loss.plugin, config);
  const reference = referenceOf(opts.policy, opts.reference);
  if ((needs.reference || needs.klEstimate) && !reference) throw new Error(`evaluatePreference: loss '${loss.name}' needs a reference model (or a LoRA policy, whose base serves)`);
  if (!loss.data[opts.dataset.paired ? 'paired' : 'unpaired']) throw new Error(`evaluatePreference: loss '${loss.name}' does not take ${opts.dataset.paired ? 'paired' : 'unpaired'} data (${opts.dataset.path})`);
  const prompts = needs.promptEmbeddings && opts.promptEmbedder ? new PromptEmbeddingCache(opts.promptEmbedder, opts.dataset) : undefined;
  const { means, samples } = await evaluateLoss({
    loss, config, policy: opts.policy, reference, tokenizer: opts.tokenizer, dataset: opts.dataset, batchSize: opts.batchSize ?? 8,
    tokenize: { maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength }, prompts, ...(opts.communicator ? { communicator: opts.communicator } : {}),
  });
  return { metrics: Object.fromEntries(means), samples };
}
