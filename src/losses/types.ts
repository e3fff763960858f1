// The PreferenceLoss contract (docs/writing-a-loss.md): a loss is a plain object registered by
// name; the trainer reads `data` and `needs` and supplies only what the loss asks for.
import type { Tensor } from '../autograd/tensor.js';

/** One side of a preference batch: M chosen rows, or N rejected rows. */
export interface PreferenceSide {
  /** Sequence log-probs under the policy, summed over completion tokens: [rows], differentiable. */
  policyLogps: Tensor;
  /** The same under the frozen reference model: [rows]. Needed when `needs.reference`. */
  refLogps?: Tensor;
  /** Completion token counts (float, or int32 which is cast): [rows]. Needed when `needs.tokenAverage`. */
  tokenCounts?: Tensor;
  /** Sentence embeddings of each row's prompt: [rows, d]. Needed when `needs.promptEmbeddings`. */
  promptEmbeddings?: Tensor;
  /** Which prompt each row came from (host integers), for metrics on same-prompt cells. */
  promptIds?: readonly number[];
  /**
   * Chosen side only: Σ log p over every scored token of the row, prompt (after BOS) and completion
   * alike: [rows], differentiable (ORPO's NLL as TRL computes it). Needed when `needs.promptTokens`.
   */
  fullLogps?: Tensor;
  /** Chosen side only: how many tokens fullLogps sums (each row's length − 1): [rows]. */
  fullTokenCounts?: Tensor;
  /**
   * Chosen side only: Σ log p over the completion tokens, each counting 1 whatever LD-DPO's verbose
   * weight (policyLogps then weighs the verbose part): [rows], differentiable, from the same
   * forward. Supplied when `needs.unweightedLogps` and `needs.verboseWeight` ≠ 1; absent,
   * policyLogps are unweighted (unweightedChosenLogps reads either).
   */
  unweightedLogps?: Tensor;
  /**
   * WPO's weight of each row (Zhou et al., 2024, Eq. 2, as TRL's use_weighting):
   * exp(mean over completion tokens of (log p(token) − log Σ_v p(v)²)) under the policy: [rows],
   * no gradient. Needed when `needs.wpoWeights`.
   */
  wpoWeights?: Tensor;
}

export interface PreferenceBatch {
  /** Row i of `chosen` and row i of `rejected` answer the same prompt (so M == N). */
  paired: boolean;
  chosen: PreferenceSide;
  rejected: PreferenceSide;
  /** Log-probs of mismatched (prompt, answer) pairs, for KTO's KL estimate. */
  kl?: { policyLogps: Tensor; refLogps: Tensor };
}

export interface LossOutput {
  /** The scalar to call backward() on. */
  loss: Tensor;
  /** Scalars for logging, carrying no gradient; names follow TRL (rewards/chosen, …). */
  metrics: Record<string, Tensor>;
}

/** A config is flat: numbers, booleans and strings only, so it round-trips through JSON and CLI flags. */
export type ConfigValue = number | boolean | string;
export type LossConfig = { [key: string]: ConfigValue };

export interface LossNeeds {
  /** refLogps on both sides. */
  reference: boolean;
  /** promptEmbeddings on both sides. */
  promptEmbeddings: boolean;
  /** batch.kl (KTO's mismatched pairs). */
  klEstimate: boolean;
  /** tokenCounts on both sides (length-normalised rewards). */
  tokenAverage: boolean;
  /**
   * On paired data the loss is a plain mean of one term per pair, so the mean of k equal
   * micro-batches' losses is the loss of their union and the trainer may evaluate it per
   * micro-batch in one pass. Absent or false: the loss couples rows (RPO's contrast matrix, KTO's
   * KL estimate, a sort across the batch, a token sum over rows), and under gradient accumulation
   * it is evaluated once over all the rows of the step (docs/writing-a-loss.md).
   */
  meanOverPairs?: boolean;
  /**
   * chosen.fullLogps and chosen.fullTokenCounts: the chosen rows' log-probs over prompt and
   * completion. Costs a log-sum-exp over the vocabulary at each prompt position of the chosen rows.
   */
  promptTokens?: boolean;
  /**
   * wpoWeights on both sides: one more vocabulary-wide pass (a fused kernel) over the policy's
   * logits at the completion positions, without gradient.
   */
  wpoWeights?: boolean;
  /**
   * LD-DPO (Liu et al., 2024; TRL's ld_alpha): in policyLogps and refLogps, each answer's tokens past
   * the pair's shorter answer's length count with this weight (per-token weights in the completion
   * mask; tokenCounts stay counts). 1 or absent: every token counts fully. Paired data only.
   */
  verboseWeight?: number;
  /**
   * The loss reads the chosen answers' log-probs only unweighted (an NLL, as TRL's `sft` type with
   * ld_alpha), through unweightedChosenLogps, and no other log-probs: in a mix with a term that has
   * a verbose weight, the trainer supplies chosen.unweightedLogps (one more masked sum over the same
   * token log-probs) and the mix does not refuse the term's weight of 1.
   */
  unweightedLogps?: boolean;
}

export interface PreferenceLoss<C extends LossConfig = LossConfig> {
  /** Registry key: lower case, digits and underscores (`dpo`, `rpo_simpo`). */
  name: string;
  /** One line for listings and error messages. */
  description?: string;
  /** Which datasets it accepts: paired (row i of each side shares a prompt) and/or unpaired. */
  data: { paired: boolean; unpaired: boolean };
  /** What the trainer must supply; with options that change it (rpo's weighting), the widest case. */
  needs: LossNeeds;
  /** What a given config needs, when that is less than `needs` (rpo with uniform weights needs no embeddings). */
  needsFor?(config: C): LossNeeds;
  /** Every config key with its default; a user config may override any subset of them. */
  defaults: C;
  /** One line per config key: what it means (and TRL's name for it), for `relpo losses --loss NAME`. */
  configHelp?: { [K in keyof C]?: string };
  /**
   * Values that checkpoints written before a key existed ran with, where they differ from today's
   * default (sft's per-row NLL before nllAverage): a resumed run compares against these, so a
   * changed default is a refused resume, not a silent change. Keys absent here resume as the default.
   */
  formerDefaults?: Partial<C>;
  /** Allowed values for string-valued keys (checked when a config is resolved). */
  choices?: { [K in keyof C]?: readonly ConfigValue[] };
  /** Checks ranges and combinations after defaults are merged; throws naming the key. */
  validate?(config: C): void;
  compute(batch: PreferenceBatch, config: C): LossOutput;
}
