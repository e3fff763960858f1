// Copies a checkpoint folder's tensors into a freshly built model: loaded (across shards), copied
// by name with loadStateDict's checks, then freed; on any error the model is disposed too, so a
// failed load leaves nothing allocated.
import { loadCheckpoint } from '../io/checkpoint.js';
import type { Device } from '../autograd/device.js';
import type { Module } from '../nn/module.js';
import type { FloatDType } from '../nn/init.js';

export async function loadWeightsInto<M extends Module>(model: M, dir: string, opts: { device?: Device; dtype?: FloatDType }, describe: (e: Error) => Error = (e) => e): Promise<M> {
  try {
    const weights = await loadCheckpoint(dir, { device: opts.device, dtype: opts.dtype });
    try {
      model.loadStateDict(weights);
    } catch (e) {
      throw describe(e as Error);
    } finally {
      for (const t of weights.values()) t.dispose();
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
