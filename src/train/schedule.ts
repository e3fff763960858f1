// Learning-rate schedules as Hugging Face transformers' get_scheduler builds them (optimization.py):
// LambdaLR factors of the base learning rate, stepped once per optimizer step, so optimizer step k
// (0-based) runs at lr · factor(k). With warmup, the first step runs at lr 0, as in transformers.

export type LrSchedulerType = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';
export const LR_SCHEDULER_TYPES: readonly LrSchedulerType[] = ['constant', 'constant_with_warmup', 'linear', 'cosine'];

export interface LrSchedule {
  type: LrSchedulerType;
  /** Optimizer steps of linear warmup from 0. */
  warmupSteps: number;
  /** Optimizer steps in the whole run (the decay reaches 0 there). */
  totalSteps: number;
}

/** The factor of the base learning rate at optimizer step k (0-based). */
export function lrFactor(s: LrSchedule, k: number): number {
  const { warmupSteps: w, totalSteps: n } = s;
  if (s.type !== 'constant' && k < w) return k / Math.max(1, w);
  switch (s.type) {
    case 'constant':
    case 'constant_with_warmup':
      return 1;
    case 'linear':
      return Math.max(0, (n - k) / Math.max(1, n - w));
    case 'cosine': {
      // num_cycles = 0.5: half a cosine from 1 down to 0.
      const progress = (k - w) / Math.max(1, n - w);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress)));
    }
  }
}

/**
 * Warmup steps as TrainingArguments.get_warmup_steps: warmupSteps when given (> 0), else
 * ceil(warmupRatio · totalSteps).
 */
export function warmupStepsOf(totalSteps: number, warmupSteps = 0, warmupRatio = 0): number {
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new Error(`warmupSteps must be a non-negative integer, got ${warmupSteps}`);
  if (!Number.isFinite(warmupRatio) || warmupRatio < 0 || warmupRatio > 1) throw new Error(`warmupRatio must be in [0, 1], got ${warmupRatio}`);
  return warmupSteps > 0 ? warmupSteps : Math.ceil(warmupRatio * totalSteps);
}

/** Checks a scheduler name, naming the accepted ones. */
export function checkLrScheduler(type: string): LrSchedulerType {
  if (!(LR_SCHEDULER_TYPES as readonly string[]).includes(type)) throw new Error(`lr scheduler '${type}' is not one of ${LR_SCHEDULER_TYPES.join(', ')}`);
  return type as LrSchedulerType;
}
