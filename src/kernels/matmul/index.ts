import { registerMatmulCpu, registerStoredMatmulCpu } from './cpu.js';
import { registerMatmulWebGPU } from './webgpu.js';
import './methods.js';
registerMatmulCpu();
registerStoredMatmulCpu();
registerMatmulWebGPU();
export { matmul, matmulBfloat16Weight, matmulNf4Weight, matmulGated, matmulGroup, matmulSwiglu } from './op.js';
export { matmulCost, matmulLayout, planMatmul, type MatmulOptions, type MatmulAttrs, type MatmulLayout } from './contract.js';
// The default and the controls; the ladder itself (its rungs, tile configs, limits) stays inside:
// a product picks a rung with matmul(a, b, { version }), docs/kernels.md lists them.
export { chooseMatmulVersion, setMatmulVersion, listMatmulVersions } from './webgpu.js';
export { setSkinnyColumns } from './skinny.js';
