import { registerMatmulCpu, registerStoredMatmulCpu } from './cpu.js';
import { registerMatmulWebGPU } from './webgpu.js';
import './methods.js';
registerMatmulCpu();
registerStoredMatmulCpu();
registerMatmulWebGPU();
export { matmul, matmulBfloat16Weight, matmulNf4Weight, matmulGroup, matmulSwiglu } from './op.js';
export { matmulCost, planMatmul, type MatmulOptions, type MatmulAttrs } from './contract.js';
export {
  MATMUL_VERSIONS, MATMUL_VEC4_SMALL_BLOCK, MATMUL_VEC4_LARGE_BLOCK, MATMUL_VEC4_SPLIT_K, MATMUL_VEC4_SMALL_BLOCK_SPLIT_K, MATMUL_VEC4_TINY_BLOCK_SPLIT_K, MATMUL_VEC4_LARGE_BLOCK_ONE_BUFFER, MATMUL_VEC4_TALL_BLOCK, MATMUL_VEC4_TALL_BLOCK_SPLIT_K, MATMUL_VEC4_LARGE_BLOCK_SPLIT_384, MATMUL_SKINNY, chooseMatmulVersion, launchMatmul, matmulVersionNeeds, matmulVersionFits,
  type MatmulVersion, type TileConfig,
} from './webgpu.js';
export { type Vec4TileConfig } from './vec4.js';
