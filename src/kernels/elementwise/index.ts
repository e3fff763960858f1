import { registerElementwiseCpu } from './cpu.js';
import { registerElementwiseWebGPU } from './webgpu.js';
import './methods.js';
registerElementwiseCpu();
registerElementwiseWebGPU();
export * from './op.js';
