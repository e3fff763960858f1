import { registerSoftmaxCpu } from './cpu.js';
import { registerSoftmaxWebGPU } from './webgpu.js';
import './methods.js';
registerSoftmaxCpu();
registerSoftmaxWebGPU();
export * from './op.js';
