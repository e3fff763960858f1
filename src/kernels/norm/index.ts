// The norm family: rmsNorm and layerNorm over the last axis (see contract.ts).
import { registerNormCpu } from './cpu.js';
import { registerNormWebGPU } from './webgpu.js';
registerNormCpu();
registerNormWebGPU();
export * from './op.js';
export { rmsNormCost, layerNormCost, rmsNormBackwardCost, layerNormBackwardCost } from './contract.js';
