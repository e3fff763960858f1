// Optimizers for the trainer: AdamW and RMSprop over a list of parameters, one fused kernel per
// parameter per step (the update kernels: src/kernels/optim). PyTorch's behaviour: state is created on a parameter's first step with a
// gradient, parameters without a gradient are skipped (their step count does not advance), and
// zeroGrad() drops the gradients (set_to_none). State tensors are kept out of every tidy() and freed
// by dispose().
import type { Tensor } from '../autograd/tensor.js';
import { keep } from '../autograd/scope.js';
import { zeros } from '../autograd/create.js';
import { isFloat } from '../autograd/dtype.js';
import { adamwUpdate, rmspropUpdate } from '../kernels/optim/op.js';

abstract class Optimizer<S extends { step: number }> {
  readonly params: readonly Tensor[];
  /** The learning rate of the next step; schedules set it between steps. */
  lr: number;
  protected readonly state = new Map<Tensor, S>();

  constructor(name: string, params: Tensor[], lr: number) {
    if (params.length === 0) throw new Error(`${name}: got an empty parameter list`);
    const seen = new Set<Tensor>();
    params.forEach((p, i) => {
      if (!isFloat(p.dtype)) throw new Error(`${name}: parameter ${i}${p.name ? ` '${p.name}'` : ''} is ${p.dtype}; only float tensors can be optimized`);
      if (seen.has(p)) throw new Error(`${name}: parameter ${i}${p.name ? ` '${p.name}'` : ''} appears twice`);
      seen.add(p);
    });
    checkRange(name, 'lr', lr, 0);
    this.params = [...params];
    this.lr = lr;
  }

  /** The gradient scale of the step being applied (see step). */
  protected gradScale = 1;

  /**
   * One update of every parameter that has a gradient (queued on the device; nothing is awaited).
   * gradScale multiplies every gradient as the update reads it: gradient clipping
   * (clipGradNormScale) without a pass over the gradients of its own.
   */
  step(gradScale = 1): void {
    if (!Number.isFinite(gradScale) || gradScale < 0) throw new Error(`optimizer step: gradScale must be a finite number ≥ 0, got ${gradScale}`);
    this.gradScale = gradScale;
    for (const p of this.params) {
      if (!p.grad) continue;
      let s = this.state.get(p);
      if (!s) this.state.set(p, (s = this.initState(p)));
      s.step++;
      this.update(p, p.grad, s);
    }
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** The state of one parameter (undefined before its first step), for checkpoints and tests. */
  stateOf(p: Tensor): Readonly<S> | undefined {
    return this.state.get(p);
  }

  /** Frees the state tensors; the optimizer starts from scratch if stepped again. */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (typeof v === 'object' && v) (v as Tensor).dispose();
    this.state.clear();
  }

  protected abstract initState(p: Tensor): S;
  protected abstract update(p: Tensor, grad: Tensor, state: S): void;
}

function checkRange(name: string, what: string, v: number, lo: number, hiExclusive?: number): void {
  if (!Number.isFinite(v) || v < lo || (hiExclusive !== undefined && v >= hiExclusive)) {
    throw new Error(`${name}: invalid ${what} ${v} (expected ${hiExclusive === undefined ? `≥ ${lo}` : `in [${lo}, ${hiExclusive})`})`);
  }
}

function zerosOf(p: Tensor): Tensor {
  return keep(zeros(p.shape, { device: p.device, dtype: p.dtype }));
}

export interface AdamWOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay; default 1e-2. */
  weightDecay?: number;
}

export interface AdamWState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

/** torch.optim.AdamW (amsgrad=False, maximize=False), defaults included. */
export class AdamW extends Optimizer<AdamWState> {
  betas: [number, number];
  eps: number;
  weightDecay: number;

  constructor(params: Tensor[], opts: AdamWOptions = {}) {
    super('AdamW', params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
    checkRange('AdamW', 'beta1', this.betas[0], 0, 1);
    checkRange('AdamW', 'beta2', this.betas[1], 0, 1);
    checkRange('AdamW', 'eps', this.eps, 0);
    checkRange('AdamW', 'weightDecay', this.weightDecay, 0);
  }

  protected initState(p: Tensor): AdamWState {
    return { step: 0, expAvg: zerosOf(p), expAvgSq: zerosOf(p) };
  }

  protected update(p: Tensor, grad: Tensor, s: AdamWState): void {
    adamwUpdate(p, grad, s.expAvg, s.expAvgSq, {
      lr: this.lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay, step: s.step, gradScale: this.gradScale,
    });
  }
}

export interface RMSpropOptions {
  /** Default 1e-2. */
  lr?: number;
  /** Smoothing constant; default 0.99. */
  alpha?: number;
  /** Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
  /** Default 0. */
  momentum?: number;
  /** Normalise by the variance estimate instead of the second moment; default false. */
  centered?: boolean;
}

export interface RMSpropState {
  step: number;
  squareAvg: Tensor;
  gradAvg?: Tensor;
  momentumBuffer?: Tensor;
}

/** torch.optim.RMSprop (maximize=False), defaults included. */
export class RMSprop extends Optimizer<RMSpropState> {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  readonly centered: boolean;

  constructor(params: Tensor[], opts: RMSpropOptions = {}) {
    super('RMSprop', params, opts.lr ?? 1e-2);
    this.alpha = opts.alpha ?? 0.99;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.momentum = opts.momentum ?? 0;
    this.centered = opts.centered ?? false;
    checkRange('RMSprop', 'alpha', this.alpha, 0);
    checkRange('RMSprop', 'eps', this.eps, 0);
    checkRange('RMSprop', 'weightDecay', this.weightDecay, 0);
    checkRange('RMSprop', 'momentum', this.momentum, 0);
  }

  protected initState(p: Tensor): RMSpropState {
    return {
      step: 0,
      squareAvg: zerosOf(p),
      ...(this.centered ? { gradAvg: zerosOf(p) } : {}),
      ...(this.momentum > 0 ? { momentumBuffer: zerosOf(p) } : {}),
    };
  }

  protected update(p: Tensor, grad: Tensor, s: RMSpropState): void {
    if (this.momentum > 0 && !s.momentumBuffer) s.momentumBuffer = zerosOf(p); // momentum switched on later
    rmspropUpdate(p, grad, s, {
      lr: this.lr, alpha: this.alpha, eps: this.eps, weightDecay: this.weightDecay, momentum: this.momentum, centered: this.centered, gradScale: this.gradScale,
    });
  }
}
