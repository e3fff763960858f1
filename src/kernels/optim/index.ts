// Fused optimizer updates (AdamW, RMSprop): one kernel per parameter per step, in place.
import { registerOptimCpu } from './cpu.js';
import { registerOptimWebGPU } from './webgpu.js';
registerOptimCpu();
registerOptimWebGPU();
export * from './op.js';
export * from './optimizers.js';
export type { AdamWAttrs, RMSpropAttrs } from './contract.js';
