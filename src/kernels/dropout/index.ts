// The dropout family: inverted dropout with a counter-based mask (see contract.ts).
import { registerDropoutCpu } from './cpu.js';
import { registerDropoutWebGPU } from './webgpu.js';
registerDropoutCpu();
registerDropoutWebGPU();
export { dropout } from './op.js';
export { mix32, dropThreshold } from './contract.js';
