// Named points of a training run where a crash is worth testing (inside a step, between a save's
// writes and renames). Each calls the installed hook, if any: the fault-injection tests install one
// that kills the process at the k-th point, then check that resuming gives the uninterrupted run.
let hook: ((name: string) => void) | undefined;

/** Installs (or, with undefined, removes) the function called at every fault point. */
export function setFaultHook(fn: ((name: string) => void) | undefined): void {
  hook = fn;
}

export function faultPoint(name: string): void {
  hook?.(name);
}
