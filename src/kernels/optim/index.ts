// Fused optimizer updates (AdamW, RMSprop): one kernel per parameter per step, in place. The
// optimizer classes that run them are src/optim.
import { registerOptimCpu } from './cpu.js';
import { registerOptimWebGPU } from './webgpu.js';
registerOptimCpu();
registerOptimWebGPU();
export * from './op.js';
export type { AdamWAttrs, RMSpropAttrs } from './contract.js';
