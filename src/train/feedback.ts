// Learning from thumbs: answers a user marked 👍 or 👎 are unpaired preference rows (desirable or
// not), which RPO (and KTO) train on directly. trainOnFeedback fits a LoRA adapter to them, all rows
// in one batch per step, with the base model (adapters off) as the reference; completionLogprobs
// scores answers, to see training move them.
import { noGrad, tidy } from '../autograd/scope.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLM } from '../models/causal-lm.js';
import { type LoraOptions, applyLora, loraLayers } from '../nn/lora.js';
import { getLoss, registerLoss, unregisterLoss } from '../losses/registry.js';
import { mixLosses } from '../losses/mix.js';
import type { LossConfig } from '../losses/types.js';
import { preferenceDatasetFromRecords } from '../data/records.js';
import { tokenizeRows } from '../data/tokenize.js';
import { sideLogps } from './sequence-logps.js';
import { disposeRows } from './batch.js';
import { type StepMetrics, type TrainPreferenceResult, trainPreference } from './trainer.js';

/** One answer and the user's verdict on it. */
export interface FeedbackRecord {
  prompt: string;
  completion: string;
  /** true: 👍 (desirable), false: 👎. */
  liked: boolean;
}

export interface TrainOnFeedbackOptions {
  /** The model; LoRA layers are added when it has none (a later call goes on training the same adapter). */
  policy: CausalLM;
  tokenizer: TextTokenizer;
  feedback: FeedbackRecord[];
  /** A loss that takes unpaired data (default 'rpo'; e.g. 'kto', 'apo_zero_unpaired'). */
  loss?: string;
  lossConfig?: Partial<LossConfig>;
  /**
   * Adds this weight × the 👍 answers' NLL (loss 'sft') to the loss (default 0: none). RPO, like DPO,
   * widens the gap between 👍 and 👎 answers partly by lowering 👍 answers that share words with 👎
   * ones; the SFT term holds the 👍 answers up (the RPO-with-NLL set-up).
   */
  sftWeight?: number;
  /** Optimizer steps, each over all the feedback (default 20). */
  steps?: number;
  /** AdamW's learning rate, constant (default 1e-3). */
  lr?: number;
  /** The adapter added to a model without one (default r 8, α 16, every attention and MLP projection). */
  lora?: LoraOptions;
  seed?: number;
  /** Called after each step with its metrics (loss, rewards/…, lr). */
  log?: (metrics: StepMetrics) => void;
  /** Stops after the step under way. */
  signal?: AbortSignal;
}

export const FEEDBACK_LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** Trains a LoRA adapter on the policy from thumbs up and down; returns the run's metrics. */
export async function trainOnFeedback(o: TrainOnFeedbackOptions): Promise<TrainPreferenceResult> {
  const lossName = o.loss ?? 'rpo';
  const loss = getLoss(lossName);
  if (!loss.data.unpaired) throw new Error(`trainOnFeedback: loss '${lossName}' does not take unpaired data (thumbs up and down are unpaired rows)`);
  const up = o.feedback.filter((f) => f.liked).length;
  const down = o.feedback.length - up;
  if (up === 0 || down === 0) throw new Error(`trainOnFeedback: the feedback needs at least one 👍 and one 👎 (it has ${up} 👍 and ${down} 👎)`);
  const dataset = preferenceDatasetFromRecords(o.feedback.map((f) => ({ prompt: f.prompt, completion: f.completion, label: f.liked })), { name: 'feedback' });
  const sftWeight = o.sftWeight ?? 0;
  if (!(sftWeight >= 0 && Number.isFinite(sftWeight))) throw new Error(`trainOnFeedback: sftWeight must be a finite number ≥ 0, got ${o.sftWeight}`);
  // A mix is registered under its own name, replaced by each call (its weight and config may change).
  const trained = sftWeight > 0 ? `feedback_${lossName}_sft` : lossName;
  if (sftWeight > 0) {
    unregisterLoss(trained);
    registerLoss(mixLosses([{ loss: lossName, weight: 1, ...(o.lossConfig ? { config: o.lossConfig } : {}) }, { loss: 'sft', weight: sftWeight }], trained));
  }
  if (loraLayers(o.policy).length === 0) applyLora(o.policy, { r: 8, alpha: 16, targetModules: FEEDBACK_LORA_TARGETS, ...o.lora });
  return trainPreference({
    policy: o.policy, tokenizer: o.tokenizer, dataset, loss: trained, ...(o.lossConfig && sftWeight === 0 ? { lossConfig: o.lossConfig } : {}),
    lr: o.lr ?? 1e-3, lrScheduler: 'constant', batchSize: o.feedback.length, steps: o.steps ?? 20, shuffle: false, seed: o.seed ?? 0,
    ...(o.log ? { log: o.log } : {}), ...(o.signal ? { signal: o.signal } : {}),
  });
}

/** log π(completion | prompt) of each row, summed over the completion's tokens and EOS, as training scores them. */
export async function completionLogprobs(model: CausalLM, tokenizer: TextTokenizer, rows: { prompt: string; completion: string }[]): Promise<number[]> {
  const side = await tokenizeRows(tokenizer, rows, { device: model.device });
  try {
    return await model.inEvalMode(async () => {
      const logps = tidy(() => noGrad(() => sideLogps(model, side)));
      try {
        return Array.from(await logps.data());
      } finally {
        logps.dispose();
      }
    });
  } finally {
    disposeRows(side);
  }
}
