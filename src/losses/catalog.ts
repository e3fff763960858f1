// The registered losses by name: what getLoss and listLosses read. registerLoss (registry.ts)
// checks a plugin and adds it here; the checks that name the losses accepting some data
// (checks.ts) read it too, which is why it sits below both.
import type { LossConfig, LossOutput, PreferenceBatch, PreferenceLoss } from './types.js';

/**
 * A loss as the registry hands it out: compute() takes a partial config (merged over the defaults
 * and checked) and checks the batch before the plugin's own compute runs.
 */
export interface RegisteredLoss<C extends LossConfig = LossConfig> extends PreferenceLoss<C> {
  compute(batch: PreferenceBatch, config?: Partial<C>): LossOutput;
  /** The defaults overridden by `partial`; throws naming an unknown key or a value of the wrong type. */
  resolveConfig(partial?: Partial<C>): C;
  /** The object that was registered. */
  readonly plugin: PreferenceLoss<C>;
}

const catalog = new Map<string, RegisteredLoss>();

/** Adds a loss registerLoss has checked (its name is free). */
export function addToCatalog(loss: RegisteredLoss): void {
  catalog.set(loss.name, loss);
}

export function isRegistered(name: string): boolean {
  return catalog.has(name);
}

/** The registered loss called `name`; an unknown name is an error listing the known ones. */
export function getLoss<C extends LossConfig = LossConfig>(name: string): RegisteredLoss<C> {
  const loss = catalog.get(name);
  if (!loss) {
    const known = [...catalog.keys()].sort();
    throw new Error(`unknown loss '${name}'; registered losses: ${known.length ? known.join(', ') : '(none)'}`);
  }
  return loss as unknown as RegisteredLoss<C>;
}

/** Every registered loss, in registration order (the built-ins first). */
export function listLosses(): RegisteredLoss[] {
  return [...catalog.values()];
}

/** Removes a loss; returns whether one was registered under that name. */
export function unregisterLoss(name: string): boolean {
  return catalog.delete(name);
}
