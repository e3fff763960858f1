// The gather family: gather/scatterAdd, indexSelect/indexAdd, sort (see contract.ts).
import { registerGatherCpu } from './cpu.js';
import { registerGatherWebGPU } from './webgpu.js';
import './methods.js';
registerGatherCpu();
registerGatherWebGPU();
export * from './op.js';
