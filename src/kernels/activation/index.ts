// The activation family: swiglu, gelu (erf form) and erf (see contract.ts).
import { registerActivationCpu } from './cpu.js';
import { registerActivationWebGPU } from './webgpu.js';
registerActivationCpu();
registerActivationWebGPU();
export * from './op.js';
export { swigluCost, swigluBackwardCost, geluCost, geluBackwardCost } from './contract.js';
