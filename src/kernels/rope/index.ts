// RoPE: the rotation kernels (applyRope, applyRopePair); see contract.ts. The frequencies from a
// Hugging Face config are src/models/rope-config.ts.
import { registerRopeCpu } from './cpu.js';
import { registerRopeWebGPU } from './webgpu.js';
registerRopeCpu();
registerRopeWebGPU();
export * from './op.js';
export { ropeCost } from './contract.js';
