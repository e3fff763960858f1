// Fused attention (causal, right padding, grouped-query, sliding window): see contract.ts.
import { registerAttentionCpu } from './cpu.js';
import { registerAttentionWebGPU } from './webgpu.js';
registerAttentionCpu();
registerAttentionWebGPU();
export { attention, attentionUnfused, type AttentionOpOptions } from './op.js';
export { attentionCost, visiblePairs, type AttentionCost, type AttentionDims, type AttentionOptions } from './contract.js';
export { ATTENTION_VERSIONS, attentionSharedBytes, chooseAttentionTile, type AttentionTile, type AttentionVersion } from './webgpu.js';
