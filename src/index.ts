// relpo: the public entry.
// The WebGPU device's types come with relpo (a dependency), so a consumer's tsc finds them.
/// <reference types="@webgpu/types" preserve="true" />
import './kernels/fill/index.js';
import './autograd/tensor-methods.js';

export { Tensor } from './autograd/tensor.js';
export type { DType, TypedArray } from './autograd/dtype.js';
export type { Shape } from './autograd/shape.js';
export type { Device, DeviceKind, MemoryStats } from './autograd/device.js';
export { getDefaultDevice, setDefaultDevice } from './autograd/device.js';
export { tidy, keep, noGrad, enableGrad, isGradEnabled } from './autograd/scope.js';
export { checkpoint } from './autograd/checkpoint.js';
export { sumToShape } from './autograd/sum-to-shape.js';
export { backward } from './autograd/backward.js';
export { gradcheck } from './autograd/gradcheck.js';
export { manualSeed, nextDropoutSeed, getDropoutState, setDropoutState } from './autograd/random.js';
export { tensor, zeros, ones, full, zerosLike, onesLike, fullLike, randn, rand, arange, type TensorOptions } from './autograd/create.js';
export { registerKernel, listKernels } from './autograd/kernel.js';
export type { KernelCost } from './kernels/cost.js';
export { init, shutdown, cpuDevice, webgpuDevice, type InitOptions, type DeviceChoice } from './device/index.js';

export * from './kernels/elementwise/index.js';
export * from './kernels/reduce/index.js';
export * from './kernels/copy/index.js';
export * from './kernels/matmul/index.js';
export * from './kernels/softmax/index.js';
export * from './kernels/gather/index.js';
export * from './losses/index.js';
export * from './kernels/logprobs/index.js';
export * from './kernels/aligned-logprobs/index.js';
export * from './kernels/optim/index.js';
export * from './optim/index.js';
export * from './kernels/norm/index.js';
export * from './kernels/rope/index.js';
export * from './kernels/activation/index.js';
export * from './kernels/dropout/index.js';
export * from './kernels/bfloat16/index.js';
export * from './kernels/nf4/index.js';
export * from './kernels/attention/index.js';
export * from './kernels/decode/index.js';
export * from './io/index.js';
export * from './distributed/index.js';
export * from './nn/index.js';
export * from './models/index.js';
export * from './data/index.js';
export * from './train/index.js';
export * from './eval/index.js';
export * from './experiment/index.js';
