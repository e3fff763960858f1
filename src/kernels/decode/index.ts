// Kernels of a decoding step: the key/value cache written in place, one query per row attending
// over it (see contract.ts).
import { registerDecodeCpu } from './cpu.js';
import { registerDecodeWebGPU } from './webgpu.js';
registerDecodeCpu();
registerDecodeWebGPU();
export { cacheWrite, decodeAttention, decodeAttentionUnfused, rotateAndCache } from './op.js';
export { decodeAttentionCost, decodeDims, type DecodeAttentionOptions, type DecodeDims } from './contract.js';
export { DECODE_ATTENTION_VERSIONS } from './webgpu.js';
