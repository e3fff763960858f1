// Copies a checkpoint folder's tensors into a freshly built model: loaded (across shards), copied
// by name with loadStateDict's checks, then freed; on any error the model is disposed too, so a
// failed load leaves nothing allocated.
import { type CheckpointSource, loadCheckpoint, readCheckpointIndex, sourceFile } from '../io/checkpoint.js';
import type { Tensor } from '../autograd/tensor.js';
import { Linear } from '../nn/linear.js';
import type { Device } from '../autograd/device.js';
import { type Module, nameMismatches } from '../nn/module.js';
import type { FloatDType } from '../nn/init.js';

export async function loadWeightsInto<M extends Module>(model: M, dir: CheckpointSource, opts: { device?: Device; dtype?: FloatDType }, describe: (e: Error) => Error = (e) => e): Promise<M> {
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

/**
 * Streams a checkpoint folder into a model one tensor at a time: each tensor is read, put in the
 * form its parameter holds (a Linear held in NF4 quantizes it, a bfloat16 weight rounds it), and
 * freed before the next is read, so loading never needs the float32 model twice (nor once, for a
 * QLoRA base). Names are checked first: a checkpoint tensor the model lacks, or a parameter the
 * checkpoint lacks, is an error listing them, before any data is read. `ignore` names checkpoint
 * tensors that are not parameters (RoPE's inv_freq buffers). On any error the model is disposed.
 */
export async function streamWeightsInto<M extends Module>(model: M, dir: CheckpointSource, opts: { device?: Device; dtype?: FloatDType; ignore?: (name: string) => boolean }): Promise<M> {
  try {
    const index = await readCheckpointIndex(dir);
    // Checkpoint name → how to set it: a Linear in NF4 takes `<path>.weight` for its two parameters.
    const setters = new Map<string, (t: Tensor) => void>();
    const nf4 = new Map<string, Linear>();
    for (const [path, m] of model.namedModules()) if (m instanceof Linear && m.nf4Weight) nf4.set(path ? `${path}.weight` : 'weight', m);
    for (const name of model.namedParameters().keys()) {
      if (name.endsWith('.weight_nf4_absmax') || name === 'weight_nf4_absmax') continue;
      const weight = name.replace(/weight_nf4_codes$/, 'weight');
      const linear = nf4.get(weight);
      setters.set(weight, linear ? (t) => linear.loadWeight(t) : (t) => void model.loadStateDict(new Map([[name, t]]), { strict: false }));
    }
    const names = [...index.weightMap.keys()].filter((n) => !opts.ignore?.(n));
    const missing = [...setters.keys()].filter((n) => !index.weightMap.has(n));
    const unexpected = names.filter((n) => !setters.has(n));
    const errors = nameMismatches(missing, unexpected);
    if (errors.length > 0) throw new Error(`${model.constructor.name}.loadStateDict: ${errors.join('; ')}`);
    // Shard by shard: a FileSource holds one shard's bytes at a time.
    const shardOf = (n: string) => index.files.indexOf(index.weightMap.get(n)!);
    for (const name of names.sort((a, b) => shardOf(a) - shardOf(b))) {
      const file = index.weightMap.get(name)!;
      const t = (await index.reader.load(file, { device: opts.device, dtype: opts.dtype, names: [name] })).get(name)!;
      try {
        setters.get(name)!(t);
      } catch (e) {
        throw new Error(`${sourceFile(dir, file)}: tensor '${name}': ${(e as Error).message}`, { cause: e });
      } finally {
        t.dispose();
      }
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
