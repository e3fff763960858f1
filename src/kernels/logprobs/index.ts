// Token log-probs: the log-probability of each target token without a logits-sized log-softmax.
import { registerLogprobsCpu } from './cpu.js';
import { registerLogprobsWebGPU } from './webgpu.js';
registerLogprobsCpu();
registerLogprobsWebGPU();
export * from './op.js';
export type { TokenLogprobsOptions } from './contract.js';
