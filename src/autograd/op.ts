// Running an op: dispatch its kernel on the inputs' device, wrap the outputs, and (when a gradient
// is wanted) record a graph node whose backward is written in terms of other ops.
import { Tensor, type GraphNode } from './tensor.js';
import { getKernel, type TensorInfo } from './kernel.js';
import { isGradEnabled } from './scope.js';
import { saveForBackward, type Saves, type SaveSpec } from './saved.js';
import { isFloat } from './dtype.js';
import { addHolder } from './graph.js';
import type { Device } from './device.js';

export interface GradContext<A> {
  /** The op's inputs; those not saved (see Saves) have their shape, dtype and requiresGrad only. */
  inputs: Tensor[];
  /** Likewise the outputs. */
  outputs: Tensor[];
  attrs: A;
}

/** Output gradients in, one gradient (or null) per input out. Runs under noGrad. */
export type GradFn<A> = (dys: (Tensor | null)[], ctx: GradContext<A>) => (Tensor | null)[];

export type { Saves, SaveSpec } from './saved.js';

/** Saves nothing: the rule reads shapes only (add, reshape, copies, sums). */
export const SAVES_NOTHING: Saves = Object.freeze({});

/**
 * For a product of two inputs (mul, matmul): each gradient reads the other operand, so a is kept
 * only when b wants a gradient and b only when a does (a frozen weight times x keeps no copy of x).
 */
export const SAVES_EACH_OTHER: SaveSpec = ([a, b]) => ({ inputs: [...(b.requiresGrad ? [0] : []), ...(a.requiresGrad ? [1] : [])] });

/** The kernels that read bfloat16 tensors (storage only: src/kernels/bfloat16). */
const READS_BFLOAT16 = new Set(['fromBfloat16', 'matmulStored', 'matmulGroup', 'matmulGated']);

/** Runs kernel `name` and returns all its outputs. */
export function runOpMulti<A>(name: string, inputs: Tensor[], attrs: A, grad?: GradFn<A>, saves?: SaveSpec, onDevice?: Device): Tensor[] {
  const device = onDevice ?? sameDevice(name, inputs);
  if (!READS_BFLOAT16.has(name) && inputs.some((t) => t.dtype === 'bfloat16')) {
    throw new Error(`op '${name}' does not take bfloat16 tensors (they are storage for frozen weights); widen with fromBfloat16(x) or x.cast('float32')`);
  }
  const infos: TensorInfo[] = getKernel(name, device.kind)(device, inputs, attrs);
  const outputs = infos.map((o) => new Tensor(o.storage, o.shape, o.dtype));
  if (grad) recordNode(name, inputs, outputs, (dys, ctx) => grad(dys, { ...ctx, attrs }), saves);
  return outputs;
}

/** Runs kernel `name`, which has one output. */
export function runOp<A>(name: string, inputs: Tensor[], attrs: A, grad?: (dy: Tensor, ctx: GradContext<A>) => (Tensor | null)[], saves?: SaveSpec): Tensor {
  return runOpMulti(name, inputs, attrs, grad && ((dys, ctx) => grad(dys[0]!, ctx)), saves)[0];
}

/**
 * Attaches a graph node to `outputs` when grad mode is on and some input requires grad. Also used
 * by ops that run no kernel (reshape) or several (reductions over many axes, checkpoint). The rule
 * gets the inputs and outputs with saved ones replaced by the graph's own handles.
 */
export function recordNode(
  name: string,
  inputs: Tensor[],
  outputs: Tensor[],
  backward: (dys: (Tensor | null)[], ctx: { inputs: Tensor[]; outputs: Tensor[] }) => (Tensor | null)[],
  saves?: SaveSpec,
): void {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return;
  const owners = outputs.filter((o) => isFloat(o.dtype));
  if (owners.length === 0) return;
  for (const o of owners) o.requiresGrad = true;
  const kept = saveForBackward(inputs, outputs, saves);
  const node: GraphNode = {
    name,
    inputs,
    outputs: outputs.map((o) => new WeakRef(o)),
    backward: (dys) => {
      kept.materialize();
      return backward(dys, kept.ctx);
    },
    saved: kept.saved,
    holders: owners.length,
    released: false,
  };
  for (const t of inputs) addHolder(t);
  for (const o of owners) o.node = node;
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
  return runOpMulti(name, [], attrs, undefined, undefined, device)[0];
}
