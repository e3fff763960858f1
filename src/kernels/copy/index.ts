import { registerCopyCpu } from './cpu.js';
import { registerCopyWebGPU } from './webgpu.js';
registerCopyCpu();
registerCopyWebGPU();
export * from './op.js';
