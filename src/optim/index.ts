// Optimizers over a list of parameters (AdamW, RMSprop) and gradient clipping; the fused update
// kernels they run are src/kernels/optim.
export * from './optimizers.js';
export * from './grad-norm.js';
