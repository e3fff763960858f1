// The loss registry: plugins by name. registerLoss checks the object once, so that a malformed
// plugin fails where it is registered and not in the middle of a training run; the registered
// losses themselves are kept in catalog.ts.
import type { LossConfig, LossOutput, PreferenceBatch, PreferenceLoss } from './types.js';
import { resolveConfig } from './config.js';
import { checkBatch } from './checks.js';
import { type RegisteredLoss, addToCatalog, isRegistered } from './catalog.js';

export { getLoss, listLosses, unregisterLoss, type RegisteredLoss } from './catalog.js';

const NEEDS = ['reference', 'promptEmbeddings', 'klEstimate', 'tokenAverage'] as const;
const OPTIONAL_NEEDS = ['meanOverPairs', 'promptTokens', 'wpoWeights', 'unweightedLogps'] as const;

export function registerLoss<C extends LossConfig>(loss: PreferenceLoss<C>): RegisteredLoss<C> {
  validatePlugin(loss as unknown as PreferenceLoss);
  if (isRegistered(loss.name)) throw new Error(`registerLoss: a loss named '${loss.name}' is already registered (unregisterLoss('${loss.name}') first to replace it)`);
  const plugin = loss;
  const registered: RegisteredLoss<C> = Object.freeze({
    ...plugin,
    plugin,
    resolveConfig: (partial?: Partial<C>) => resolveConfig(plugin, partial),
    compute(batch: PreferenceBatch, config?: Partial<C>): LossOutput {
      const resolved = resolveConfig(plugin, config);
      checkBatch(plugin as unknown as PreferenceLoss, batch, resolved);
      const out = plugin.compute(batch, resolved);
      if (!out || out.loss?.isTensor !== true || out.loss.size !== 1) {
        throw new Error(`loss '${plugin.name}': compute() must return { loss: <one-element tensor>, metrics }`);
      }
      return { loss: out.loss, metrics: out.metrics ?? {} };
    },
  });
  addToCatalog(registered as unknown as RegisteredLoss);
  return registered;
}

function validatePlugin(loss: PreferenceLoss): void {
  if (loss === null || typeof loss !== 'object') throw new Error(`registerLoss: expected a loss object, got ${loss === null ? 'null' : typeof loss}`);
  const name = loss.name;
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new Error(`registerLoss: 'name' must be a string of lower-case letters, digits and underscores, starting with a letter (got ${JSON.stringify(name)})`);
  }
  const who = `registerLoss('${name}')`;
  const d = loss.data;
  if (!d || typeof d !== 'object' || typeof d.paired !== 'boolean' || typeof d.unpaired !== 'boolean') {
    throw new Error(`${who}: 'data' must be { paired: boolean, unpaired: boolean }`);
  }
  if (!d.paired && !d.unpaired) throw new Error(`${who}: 'data' accepts neither paired nor unpaired batches`);
  const n = loss.needs;
  if (!n || typeof n !== 'object') throw new Error(`${who}: 'needs' must be { ${NEEDS.map((k) => `${k}: boolean`).join(', ')} }`);
  for (const k of NEEDS) if (typeof n[k] !== 'boolean') throw new Error(`${who}: 'needs.${k}' must be a boolean, got ${typeof n[k]}`);
  for (const k of OPTIONAL_NEEDS) if (n[k] !== undefined && typeof n[k] !== 'boolean') throw new Error(`${who}: 'needs.${k}' must be a boolean when given, got ${typeof n[k]}`);
  const w = n.verboseWeight;
  if (w !== undefined && !(typeof w === 'number' && w >= 0 && w <= 1)) throw new Error(`${who}: 'needs.verboseWeight' must be a number in [0, 1] when given, got ${String(w)}`);
  const known: readonly string[] = [...NEEDS, ...OPTIONAL_NEEDS, 'verboseWeight'];
  for (const k of Object.keys(n)) if (!known.includes(k)) throw new Error(`${who}: unknown key 'needs.${k}' (known: ${known.join(', ')})`);
  const defs = loss.defaults;
  if (!defs || typeof defs !== 'object' || Array.isArray(defs)) throw new Error(`${who}: 'defaults' must be an object of config key: default value`);
  for (const [k, v] of Object.entries(defs)) {
    if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'boolean' && typeof v !== 'string') {
      throw new Error(`${who}: default of config key '${k}' must be a finite number, a boolean or a string, got ${Array.isArray(v) ? 'an array' : String(v)}`);
    }
  }
  if (loss.choices !== undefined) {
    if (typeof loss.choices !== 'object' || loss.choices === null) throw new Error(`${who}: 'choices' must be an object of key: allowed values`);
    for (const [k, allowed] of Object.entries(loss.choices)) {
      if (!(k in defs)) throw new Error(`${who}: 'choices.${k}' names a key that is not in 'defaults'`);
      if (!Array.isArray(allowed) || !allowed.includes(defs[k])) throw new Error(`${who}: 'choices.${k}' must be an array holding the default '${defs[k]}'`);
    }
  }
  if (loss.configHelp !== undefined) {
    if (typeof loss.configHelp !== 'object' || loss.configHelp === null) throw new Error(`${who}: 'configHelp' must be an object of key: one-line description`);
    for (const [k, v] of Object.entries(loss.configHelp)) {
      if (!(k in defs)) throw new Error(`${who}: 'configHelp.${k}' names a key that is not in 'defaults'`);
      if (typeof v !== 'string') throw new Error(`${who}: 'configHelp.${k}' must be a string`);
    }
  }
  if (loss.needsFor !== undefined && typeof loss.needsFor !== 'function') throw new Error(`${who}: 'needsFor' must be a function of the config`);
  if (typeof loss.compute !== 'function') throw new Error(`${who}: 'compute' must be a function (batch, config) => { loss, metrics }`);
  if (loss.validate !== undefined && typeof loss.validate !== 'function') throw new Error(`${who}: 'validate' must be a function of the config`);
  // The defaults themselves must pass the loss's own checks.
  loss.validate?.({ ...defs });
}
