// Module: a tree of named parameters, as torch.nn.Module. Names are dotted paths from the root
// (`model.layers.0.self_attn.q_proj.weight`), which is how Hugging Face names checkpoint tensors, so
// a state dict loads from a safetensors file by name. Parameters are float tensors with
// requiresGrad, exempt from tidy() (keep), owned by their module and freed by dispose().
import type { Tensor } from '../autograd/tensor.js';
import type { Device } from '../autograd/device.js';
import { keep, noGrad } from '../autograd/scope.js';
import { isFloat } from '../autograd/dtype.js';
import { sameShape } from '../autograd/shape.js';
import { cast } from '../kernels/elementwise/op.js';
import { clone } from '../kernels/copy/op.js';

export interface LoadStateDictOptions {
  /** Every parameter must be in the map and every map entry must be a parameter (default true). */
  strict?: boolean;
}

export interface LoadStateDictResult {
  /** Parameters the map had no tensor for (left as they were). */
  missing: string[];
  /** Map entries that name no parameter (ignored). */
  unexpected: string[];
}

const shapeText = (t: { shape: readonly number[] }) => `[${t.shape.join(', ')}]`;

export abstract class Module {
  private readonly ownParams = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  /** Training mode (default, as torch): dropout is active. eval() turns it off, train() back on. */
  training = true;

  /** Sets training mode on this module and every descendant; returns this. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /** train(false): dropout off (evaluation, generation). */
  eval(): this {
    return this.train(false);
  }

  /** Runs fn in evaluation mode and puts the module back in the mode it was in. */
  async inEvalMode<T>(fn: () => Promise<T>): Promise<T> {
    const training = this.training;
    this.eval();
    try {
      return await fn();
    } finally {
      this.train(training);
    }
  }

  /** Takes ownership of t as parameter `name`: requiresGrad (if float), kept out of tidy(). */
  protected registerParameter(name: string, t: Tensor): Tensor {
    if (name.includes('.')) throw new Error(`registerParameter: '${name}' must not contain a dot`);
    if (this.ownParams.has(name) || this.children.has(name)) throw new Error(`registerParameter: '${name}' is already registered`);
    this.adopt(t);
    this.ownParams.set(name, t);
    return t;
  }

  /** Frees and forgets this module's own parameter `name` (a weight replaced by another form). */
  protected unregisterParameter(name: string): void {
    const t = this.ownParams.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no parameter '${name}'`);
    this.ownParams.delete(name);
    t.dispose();
  }

  /** Registers a child; its parameters are named `${name}.${theirs}`. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    if (this.ownParams.has(name) || this.children.has(name)) throw new Error(`registerModule: '${name}' is already registered`);
    this.children.set(name, m);
    return m;
  }

  /** This module's own parameter `name` (the current tensor: loadStateDict replaces tensors). */
  protected param(name: string): Tensor {
    const t = this.ownParams.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no parameter '${name}'`);
    return t;
  }

  private adopt(t: Tensor): void {
    keep(t);
    if (isFloat(t.dtype)) t.requiresGrad = true;
  }

  /** Every parameter by dotted name, depth first in registration order (PyTorch's order). */
  namedParameters(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, t] of this.ownParams) out.set(prefix + n, t);
    for (const [n, m] of this.children) for (const [k, t] of m.namedParameters(`${prefix}${n}.`)) out.set(k, t);
    return out;
  }

  parameters(): Tensor[] {
    return [...this.namedParameters().values()];
  }

  /** The parameters by name: the model's own tensors, not copies (save them, don't dispose them). */
  stateDict(): Map<string, Tensor> {
    return this.namedParameters();
  }

  /** Where the parameters live (the first parameter's device). */
  get device(): Device {
    const first = this.parameters()[0];
    if (!first) throw new Error(`${this.constructor.name} has no parameters`);
    return first.device;
  }

  /**
   * Copies tensors into the parameters of the same name. Shapes must match exactly; a float tensor
   * of another float dtype is cast to the parameter's dtype; the device must be the parameter's
   * (load with loadSafetensors(path, { device })). The map keeps its tensors (dispose them after).
   * strict (default): a missing or unexpected name is an error listing them all; otherwise they are
   * returned. Nothing is changed unless every check passes.
   */
  loadStateDict(map: Map<string, Tensor> | Record<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const source = map instanceof Map ? map : new Map(Object.entries(map));
    const own = this.namedParameters();
    const missing = [...own.keys()].filter((n) => !source.has(n));
    const unexpected = [...source.keys()].filter((n) => !own.has(n));
    const errors = strict ? nameMismatches(missing, unexpected) : [];
    for (const [name, p] of own) {
      const t = source.get(name);
      if (!t) continue;
      if (!sameShape(t.shape, p.shape)) errors.push(`'${name}': the model's parameter is ${shapeText(p)}, the state dict's tensor is ${shapeText(t)}`);
      else if (t.dtype !== p.dtype && !(floatLike(t.dtype) && floatLike(p.dtype))) errors.push(`'${name}': the model's parameter is ${p.dtype}, the state dict's tensor is ${t.dtype}`);
      else if (t.device !== p.device) errors.push(`'${name}': the tensor is on the ${t.device.kind} device, the parameter on the ${p.device.kind} device`);
    }
    if (errors.length > 0) throw new Error(`${this.constructor.name}.loadStateDict: ${errors.join('; ')}`);
    noGrad(() => {
      for (const [name, p] of own) {
        const t = source.get(name);
        if (t) this.replaceParameter(name, p, t.dtype === p.dtype ? clone(t) : cast(t, p.dtype));
      }
    });
    return { missing, unexpected };
  }

  /**
   * Puts `next` behind parameter `path` (e.g. the same weight in another dtype) and frees the old
   * tensor; a frozen parameter stays frozen. next must have the parameter's shape.
   */
  swapParameter(path: string, next: Tensor): void {
    const old = this.namedParameters().get(path);
    if (!old) throw new Error(`${this.constructor.name} has no parameter '${path}'`);
    if (!sameShape(old.shape, next.shape)) throw new Error(`swapParameter: '${path}' is ${shapeText(old)}, the new tensor ${shapeText(next)}`);
    this.replaceParameter(path, old, next);
  }

  /** Swaps the tensor behind a parameter (found by its dotted path) and frees the old one. */
  private replaceParameter(path: string, old: Tensor, next: Tensor): void {
    const dot = path.indexOf('.');
    if (dot >= 0 && !this.ownParams.has(path)) {
      this.children.get(path.slice(0, dot))!.replaceParameter(path.slice(dot + 1), old, next);
      return;
    }
    const frozen = !old.requiresGrad;
    this.adopt(next);
    if (frozen) next.requiresGrad = false; // a frozen parameter (LoRA's base weights) stays frozen
    if (old.name) next.name = old.name;
    this.ownParams.set(path, next);
    old.dispose();
  }

  /** The direct children, by name, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Every module below this one (this one first, as ''), with its dotted path, depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.children) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /**
   * Puts m where child `name` was and returns the old child (not disposed). A field of the same
   * name (how layers reach their children: this.q_proj) is pointed at m too.
   */
  replaceModule(name: string, m: Module): Module {
    const old = this.children.get(name);
    if (!old) throw new Error(`${this.constructor.name} has no child module '${name}'`);
    this.children.set(name, m);
    if ((this as unknown as Record<string, unknown>)[name] === old) (this as unknown as Record<string, unknown>)[name] = m;
    return old;
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const t of this.parameters()) t.zeroGrad();
  }

  /** Frees every parameter (and, in subclasses, buffers). The module is unusable afterwards. */
  dispose(): void {
    for (const t of this.ownParams.values()) t.dispose();
    for (const m of this.children.values()) m.dispose();
  }
}

/** A list of modules named 0, 1, 2, … (torch.nn.ModuleList). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.registerModule(String(i), m));
  }
  get length(): number {
    return this.items.length;
  }
}

/** float32, float64 and bfloat16 load into one another (rounded or widened). */
function floatLike(dtype: string): boolean {
  return dtype === 'bfloat16' || isFloat(dtype as 'float32');
}

/** loadStateDict's words for names a state dict lacks and names the model lacks (empty when none). */
export function nameMismatches(missing: string[], unexpected: string[]): string[] {
  const list = (what: string, names: string[]) => (names.length > 0 ? [`${what} ${names.length}: ${names.map((n) => `'${n}'`).join(', ')}`] : []);
  return [...list('missing', missing), ...list('unexpected', unexpected)];
}
