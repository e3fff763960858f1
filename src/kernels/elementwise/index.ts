import { registerElementwiseCpu } from './cpu.js';
import { registerElementwiseWebGPU } from './webgpu.js';
registerElementwiseCpu();
registerElementwiseWebGPU();
export * from './op.js';
