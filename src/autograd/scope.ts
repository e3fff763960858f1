// Explicit memory: GPU buffers are not freed by the JS garbage collector in time, so every tensor
// created inside tidy() is disposed when it ends, except what it returns (TF.js's model).

/**
 * A tensor as scopes see it. tensor.ts tracks every new tensor here, so this module knows tensors
 * only by these fields (importing the class would make the two import each other).
 */
export interface Scoped {
  readonly isTensor: true;
  isKept: boolean;
  dispose(): void;
}

const scopes: Set<Scoped>[] = [];
let gradDisabled = 0;

export function track(t: Scoped): void {
  const top = scopes[scopes.length - 1];
  if (top) top.add(t);
}

export function untrack(t: Scoped): void {
  for (const s of scopes) s.delete(t);
}

/**
 * Runs fn; disposes every tensor created inside it except the tensors in its result (a tensor,
 * or arrays / plain objects holding tensors), which move to the enclosing scope. fn must be
 * synchronous: work queued inside it is still on the device when tidy returns, which is fine.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Scoped>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy() takes a synchronous function; await outside it');
  } finally {
    scopes.pop();
    const kept = new Set<Scoped>();
    if (result! !== undefined) collectTensors(result, kept);
    for (const t of scope) {
      if (kept.has(t)) track(t);
      else if (!t.isKept) t.dispose();
    }
  }
  return result;
}

/** Exempts a tensor from every enclosing tidy(); it lives until disposed by hand. */
export function keep<T extends Scoped>(t: T): T {
  untrack(t);
  t.isKept = true;
  return t;
}

export function collectTensors(value: unknown, into: Set<Scoped>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if ((value as { isTensor?: boolean }).isTensor === true) {
    into.add(value as Scoped);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, into, depth + 1);
  else if (value.constructor === Object || value instanceof Map) {
    const vals = value instanceof Map ? value.values() : Object.values(value);
    for (const v of vals) collectTensors(v, into, depth + 1);
  }
}

/** Runs fn without recording a graph (inference, optimizer updates, backward itself). */
export function noGrad<T>(fn: () => T): T {
  gradDisabled++;
  try {
    return fn();
  } finally {
    gradDisabled--;
  }
}

/**
 * Runs fn with the graph recorded even inside noGrad (a checkpointed block recomputing its forward
 * during backward).
 */
export function enableGrad<T>(fn: () => T): T {
  const saved = gradDisabled;
  gradDisabled = 0;
  try {
    return fn();
  } finally {
    gradDisabled = saved;
  }
}

export function isGradEnabled(): boolean {
  return gradDisabled === 0;
}
