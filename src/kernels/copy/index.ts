import { registerCopyCpu } from './cpu.js';
import { registerCopyWebGPU } from './webgpu.js';
import './methods.js';
registerCopyCpu();
registerCopyWebGPU();
export * from './op.js';
