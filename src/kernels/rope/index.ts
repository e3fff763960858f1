// RoPE: ropeFrequencies (host, from a Hugging Face config) and applyRope (kernel); see contract.ts.
import { registerRopeCpu } from './cpu.js';
import { registerRopeWebGPU } from './webgpu.js';
registerRopeCpu();
registerRopeWebGPU();
export * from './op.js';
export { ropeFrequencies, type RopeConfig, type RopeScalingConfig, type RopeFrequencies } from './frequencies.js';
export { ropeCost } from './contract.js';
