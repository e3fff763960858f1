// The ops the losses are written in, gathered in one place. Imported from each kernel family's
// index (which registers its kernels), never from src/index.ts, so that nothing cycles.
export { add, sub, mul, div, neg, exp, log, sqrt, square, relu, sigmoid, maximum, greater, cast } from '../kernels/elementwise/index.js';
export { sum, mean } from '../kernels/reduce/index.js';
export { reshape } from '../kernels/copy/index.js';
export { softmax, logSigmoid } from '../kernels/softmax/index.js';
export { matmul } from '../kernels/matmul/index.js';
export { sort } from '../kernels/gather/index.js';
export { tensor, full } from '../autograd/create.js';
export { noGrad, tidy } from '../autograd/scope.js';
