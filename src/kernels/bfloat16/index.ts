// The bfloat16 family: storage-only half-width floats for frozen weights (the format: src/autograd/bfloat16.ts).
import { registerBfloat16Cpu } from './cpu.js';
import { registerBfloat16WebGPU } from './webgpu.js';
registerBfloat16Cpu();
registerBfloat16WebGPU();
export { toBfloat16, fromBfloat16 } from './op.js';
export { bfloat16Bits, bfloat16Value } from '../../autograd/bfloat16.js';
