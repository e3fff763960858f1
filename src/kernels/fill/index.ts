import { registerFillCpu } from './cpu.js';
import { registerFillWebGPU } from './webgpu.js';
registerFillCpu();
registerFillWebGPU();
