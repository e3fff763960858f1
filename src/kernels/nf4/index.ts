// The NF4 family: QLoRA's 4-bit NormalFloat for frozen weights (see contract.ts).
import { registerNf4Cpu } from './cpu.js';
import { registerNf4WebGPU } from './webgpu.js';
registerNf4Cpu();
registerNf4WebGPU();
export { quantizeNf4, dequantizeNf4, type Nf4Weight } from './op.js';
export { NF4_LEVELS, NF4_BLOCK } from './contract.js';
