import { registerReduceCpu } from './cpu.js';
import { registerReduceWebGPU } from './webgpu.js';
import './methods.js';
registerReduceCpu();
registerReduceWebGPU();
export * from './op.js';
