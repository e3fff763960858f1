// The activation family: swiglu, geglu, gelu (erf and tanh forms) and erf (see contract.ts).
import { registerActivationCpu } from './cpu.js';
import { registerActivationWebGPU } from './webgpu.js';
registerActivationCpu();
registerActivationWebGPU();
export * from './op.js';
export {
  swigluCost, swigluBackwardCost, geluCost, geluBackwardCost, gegluCost, gegluBackwardCost, geluTanhCost, geluTanhBackwardCost,
  GATED_ACTIVATIONS, type GatedActivation,
} from './contract.js';
