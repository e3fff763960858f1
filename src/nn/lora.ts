// LoRA (Hu et al., 2021) as PEFT implements it for Linear layers: y = base(x) + (drop(x)·Aᵀ)·Bᵀ · α/r
// (drop: lora_dropout on the adapter's input, in training mode only),
// with A [r, in] drawn as kaiming_uniform(a = √5) (uniform in ±1/√in) and B [out, r] zero, so an
// adapted model starts equal to its base. applyLora wraps the chosen Linear layers and freezes every
// other parameter; parameter names follow PEFT's layer tree (q_proj.base_layer.weight,
// q_proj.lora_A.weight, q_proj.lora_B.weight). mergeLora folds the adapters into the base weights and
// restores plain Linear layers (for saving a full checkpoint).
import type { Tensor } from '../autograd/tensor.js';
import { tensor } from '../autograd/create.js';
import { allocArray } from '../autograd/dtype.js';
import { mulberry32, nextDropoutSeed } from '../autograd/random.js';
import { dropout } from '../kernels/dropout/op.js';
import { noGrad, tidy } from '../autograd/scope.js';
import { add, cast, mul } from '../kernels/elementwise/op.js';
import { matmul } from '../kernels/matmul/op.js';
import { Module } from './module.js';
import { Linear } from './linear.js';

export interface LoraOptions {
  /** Rank (default 8). */
  r?: number;
  /** Scale numerator: the update is scaled by alpha / r (default 16, as TRL's examples). */
  alpha?: number;
  /** Names of the Linear layers to adapt (default q_proj and v_proj, PEFT's LLaMA default). */
  targetModules?: string[];
  /** Seed of A's initialisation (default 0). */
  seed?: number;
  /**
   * PEFT's lora_dropout: dropout on the adapter path's input, in training mode (default 0; TRL's
   * examples use 0.05). Masks come from the global dropout stream (nextDropoutSeed).
   */
  dropout?: number;
}

export class LoRALinear extends Module {
  readonly base_layer: Linear;
  readonly lora_A: Linear;
  readonly lora_B: Linear;
  readonly r: number;
  readonly alpha: number;
  /** Off: the layer is its base (a reference model without a second copy of the weights). */
  enabled = true;
  /** Dropout probability on the adapter path's input (training mode only). */
  readonly dropout: number;

  constructor(base: Linear, r: number, alpha: number, seed: number, dropoutP = 0) {
    super();
    if (!(dropoutP >= 0 && dropoutP < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${dropoutP}`);
    this.dropout = dropoutP;
    // The adapters compute in float: float32 over a base held in bfloat16 or NF4.
    const dtype: 'float32' | 'float64' = base.storage === 'float64' ? 'float64' : 'float32';
    const opts = { device: base.device, dtype };
    this.base_layer = this.registerModule('base_layer', base);
    this.lora_A = this.registerModule('lora_A', new Linear(base.inFeatures, r, { ...opts, std: 0 }));
    this.lora_B = this.registerModule('lora_B', new Linear(r, base.outFeatures, { ...opts, std: 0 }));
    this.r = r;
    this.alpha = alpha;
    // A: kaiming_uniform_(a=√5) on [r, in] is uniform in ±1/√in; B stays zero.
    const u = mulberry32(seed >>> 0 || 1);
    const bound = 1 / Math.sqrt(base.inFeatures);
    const a = allocArray(dtype, r * base.inFeatures);
    for (let i = 0; i < a.length; i++) a[i] = (2 * u() - 1) * bound;
    const init = tensor(a, [r, base.inFeatures], opts);
    this.lora_A.loadStateDict({ weight: init });
    init.dispose();
  }

  get scaling(): number {
    return this.alpha / this.r;
  }

  get inFeatures(): number {
    return this.base_layer.inFeatures;
  }

  get outFeatures(): number {
    return this.base_layer.outFeatures;
  }

  /** The base layer's weight (read by code that expects a Linear). */
  get weight(): Tensor {
    return this.base_layer.weight;
  }

  forward(x: Tensor): Tensor {
    const y = this.base_layer.forward(x);
    if (!this.enabled) return y;
    const input = this.training && this.dropout > 0 ? dropout(x, this.dropout, nextDropoutSeed()) : x;
    return add(y, mul(this.lora_B.forward(this.lora_A.forward(input)), this.scaling));
  }
}

/** Every LoRA layer of a model, by path. */
export function loraLayers(model: Module): [string, LoRALinear][] {
  return model.namedModules().filter((e): e is [string, LoRALinear] => e[1] instanceof LoRALinear);
}

/**
 * Wraps every Linear layer whose name is in targetModules in a LoRALinear, freezes every other
 * parameter, and returns the adapted layers' paths. Each layer's A comes from its own seeded
 * stream (seed and layer index), so the same options give the same adapters.
 */
export function applyLora(model: Module, options: LoraOptions = {}): string[] {
  const r = options.r ?? 8;
  const alpha = options.alpha ?? 16;
  const targets = options.targetModules ?? ['q_proj', 'v_proj'];
  if (!Number.isInteger(r) || r < 1) throw new Error(`applyLora: r must be a positive integer, got ${r}`);
  if (!(alpha > 0)) throw new Error(`applyLora: alpha must be > 0, got ${alpha}`);
  if (loraLayers(model).length > 0) throw new Error('applyLora: the model already has LoRA layers');
  for (const p of model.parameters()) p.requiresGrad = false;
  const adapted: string[] = [];
  for (const [path, m] of model.namedModules()) {
    for (const [name, child] of m.namedChildren()) {
      if (!(child instanceof Linear) || !targets.includes(name)) continue;
      m.replaceModule(name, new LoRALinear(child, r, alpha, (options.seed ?? 0) * 1000003 + adapted.length, options.dropout ?? 0));
      adapted.push(path ? `${path}.${name}` : name);
    }
  }
  if (adapted.length === 0) throw new Error(`applyLora: no Linear layer is named ${targets.join(' or ')}`);
  for (const [, l] of loraLayers(model)) {
    for (const p of l.base_layer.parameters()) if (p.requiresGrad) p.requiresGrad = false;
    for (const p of [l.lora_A.weight, l.lora_B.weight]) p.requiresGrad = true;
  }
  return adapted;
}

/** Runs fn with every LoRA layer of the model switched off (the base model), then on again. */
export function withAdaptersDisabled<T>(model: Module, fn: () => T): T {
  const layers = loraLayers(model).map(([, l]) => l);
  for (const l of layers) l.enabled = false;
  try {
    return fn();
  } finally {
    for (const l of layers) l.enabled = true;
  }
}

/**
 * Folds each adapter into its base weight (W += α/r · B·A) and puts the base Linear back in its
 * place, freeing A and B; the parameters are trainable again. Afterwards the model is a plain one
 * with the adapted behaviour (savePretrainedLlama writes it as such).
 */
export function mergeLora(model: Module): void {
  // The merged model is an ordinary float32 model: weights held in NF4 or bfloat16 are widened first.
  for (const [, m] of model.namedModules()) if (m instanceof Linear) m.dequantizeWeight();
  for (const [name, p] of model.namedParameters()) if (p.dtype === 'bfloat16') model.swapParameter(name, noGrad(() => tidy(() => cast(p, 'float32'))));
  for (const [, m] of model.namedModules()) {
    for (const [name, child] of m.namedChildren()) {
      if (!(child instanceof LoRALinear)) continue;
      const base = child.base_layer;
      const merged = noGrad(() => tidy(() => add(base.weight, mul(matmul(child.lora_B.weight, child.lora_A.weight), child.scaling))));
      base.swapParameter('weight', merged);
      m.replaceModule(name, base);
      child.lora_A.dispose();
      child.lora_B.dispose();
    }
  }
  for (const p of model.parameters()) p.requiresGrad = true;
}
