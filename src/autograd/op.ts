// Running an op: dispatch its kernel on the inputs' device, wrap the outputs, and (when a gradient
// is wanted) record a graph node whose backward is written in terms of other ops.
import { Tensor, type GraphNode } from './tensor.js';
import { getKernel, type TensorInfo } from './kernel.js';
import { isGradEnabled } from './scope.js';
import { isFloat } from './dtype.js';
import type { Device } from './device.js';

export interface GradContext<A> {
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: A;
}

/** Output gradients in, one gradient (or null) per input out. Runs under noGrad. */
export type GradFn<A> = (dys: (Tensor | null)[], ctx: GradContext<A>) => (Tensor | null)[];

/** Runs kernel `name` and returns all its outputs. */
export function runOpMulti<A>(name: string, inputs: Tensor[], attrs: A, grad?: GradFn<A>, onDevice?: Device): Tensor[] {
  const device = onDevice ?? sameDevice(name, inputs);
  const infos: TensorInfo[] = getKernel(name, device.kind)(device, inputs, attrs);
  const outputs = infos.map((o) => new Tensor(o.storage, o.shape, o.dtype));
  if (grad) recordNode(name, inputs, outputs, (dys) => grad(dys, { inputs, outputs, attrs }));
  return outputs;
}

/** Runs kernel `name`, which has one output. */
export function runOp<A>(name: string, inputs: Tensor[], attrs: A, grad?: (dy: Tensor, ctx: GradContext<A>) => (Tensor | null)[]): Tensor {
  return runOpMulti(name, inputs, attrs, grad && ((dys, ctx) => grad(dys[0]!, ctx)))[0];
}

/**
 * Attaches a graph node to `outputs` when grad mode is on and some input requires grad. Also used
 * by ops that run no kernel (reshape).
 */
export function recordNode(name: string, inputs: Tensor[], outputs: Tensor[], backward: GraphNode['backward']): void {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return;
  const node: GraphNode = { name, inputs, outputs: outputs.map((o) => new WeakRef(o)), backward };
  for (const o of outputs) {
    if (!isFloat(o.dtype)) continue;
    o.node = node;
    o.requiresGrad = true;
  }
}

function sameDevice(name: string, inputs: Tensor[]) {
  if (inputs.length === 0) throw new Error(`op '${name}' has no inputs to take a device from`);
  const device = inputs[0].device;
  for (const t of inputs) {
    if (t.device !== device) {
      throw new Error(`op '${name}' got tensors on different devices (${device.kind} and ${t.device.kind}); move them with .to()`);
    }
  }
  return device;
}

/** Runs a kernel that takes no tensor inputs (fill) on a given device. */
export function runOnDevice<A>(device: Device, name: string, attrs: A): Tensor {
  return runOpMulti(name, [], attrs, undefined, device)[0];
}
