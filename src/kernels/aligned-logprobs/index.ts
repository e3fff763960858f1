// Aligned token log-probs: WPO's per-token term log p(target) − log Σ_v p(v)², no softmax copy.
import { registerAlignedLogprobsCpu } from './cpu.js';
import { registerAlignedLogprobsWebGPU } from './webgpu.js';
registerAlignedLogprobsCpu();
registerAlignedLogprobsWebGPU();
export * from './op.js';
