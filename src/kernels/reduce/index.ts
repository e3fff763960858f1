import { registerReduceCpu } from './cpu.js';
import { registerReduceWebGPU } from './webgpu.js';
registerReduceCpu();
registerReduceWebGPU();
export * from './op.js';
