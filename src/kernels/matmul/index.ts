import { registerMatmulCpu } from './cpu.js';
import { registerMatmulWebGPU } from './webgpu.js';
import './methods.js';
registerMatmulCpu();
registerMatmulWebGPU();
export { matmul } from './op.js';
export { matmulCost, planMatmul, type MatmulOptions, type MatmulAttrs } from './contract.js';
export { MATMUL_VERSIONS, chooseMatmulVersion, launchMatmul, type MatmulVersion, type TileConfig } from './webgpu.js';
