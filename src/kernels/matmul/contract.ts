// Batched matrix product C[b] = op(A[b]) · op(B[b]), op = identity or transpose.
//
// Two levels of contract:
// - the op (matmul(a, b)) takes torch.matmul shapes: [..., M, K] @ [..., K, N], 1-D operands,
//   batch dims broadcast NumPy-style; planMatmul says how it maps that onto the kernel.
// - the kernel ('matmul') takes a [batchA, ·, ·] and b [batchB, ·, ·] (any rank ≥ 2, leading dims
//   flattened) with batchA, batchB ∈ {1, batch}: an operand with one matrix is reused for every
//   batch entry (batch stride 0). transposeA: a is stored [K, M]; transposeB: b is stored [N, K].
// Cost: 2·M·N·K flops per batch entry; bytes moved at least one read of each operand and one write
// of the result (the compulsory traffic; tiling decides how close a kernel gets to it).
import type { GatedActivation } from '../activation/contract.js';
import type { DType } from '../../autograd/dtype.js';
import { bytesPerElement } from '../../autograd/dtype.js';
import { type Shape, broadcastShapes, sameShape, sizeOf } from '../../autograd/shape.js';
import type { KernelCost } from '../cost.js';

export interface MatmulOptions {
  /** a is given as [..., K, M] and used transposed. */
  transposeA?: boolean;
  /** b is given as [..., N, K] and used transposed. */
  transposeB?: boolean;
}

/** Attributes of the 'matmul' kernel. */
export interface MatmulAttrs extends MatmulOptions {
  /**
   * Which rung of the WebGPU kernel ladder to run (see MATMUL_VERSIONS in webgpu.ts); by default
   * chosen by shape (chooseMatmulVersion). The CPU reference ignores it.
   */
  version?: number;
}

/** How the kernel walks its operands: all strides in elements. */
export interface MatmulLayout {
  batch: number;
  M: number;
  N: number;
  K: number;
  /** Elements between consecutive matrices of a / b / the result (0: one matrix, reused). */
  strideA: number;
  strideB: number;
  strideC: number;
  outShape: number[];
}

function matrixDims(shape: Shape, transposed: boolean, what: string): { rows: number; cols: number; batch: number } {
  if (shape.length < 2) throw new Error(`matmul kernel: ${what} needs rank ≥ 2, got shape [${shape}]`);
  const r = shape[shape.length - 2], c = shape[shape.length - 1];
  return transposed ? { rows: c, cols: r, batch: sizeOf(shape.slice(0, -2)) } : { rows: r, cols: c, batch: sizeOf(shape.slice(0, -2)) };
}

/** The kernel-level layout; throws naming both shapes when they do not fit. */
export function matmulLayout(aShape: Shape, bShape: Shape, transposeA = false, transposeB = false): MatmulLayout {
  const a = matrixDims(aShape, transposeA, 'a');
  const b = matrixDims(bShape, transposeB, 'b');
  const desc = `[${aShape}]${transposeA ? 'ᵀ' : ''} @ [${bShape}]${transposeB ? 'ᵀ' : ''}`;
  if (a.cols !== b.rows) throw new Error(`matmul: inner dimensions differ in ${desc} (${a.cols} vs ${b.rows})`);
  if (a.batch !== b.batch && a.batch !== 1 && b.batch !== 1) {
    throw new Error(`matmul kernel: batch counts ${a.batch} and ${b.batch} in ${desc} must match or be 1 (broadcast in the op first)`);
  }
  const M = a.rows, K = a.cols, N = b.cols;
  const batch = a.batch === 1 ? b.batch : a.batch;
  const batchShape = (a.batch === batch ? aShape : bShape).slice(0, -2);
  return {
    batch, M, N, K,
    strideA: a.batch === 1 ? 0 : M * K,
    strideB: b.batch === 1 ? 0 : K * N,
    strideC: M * N,
    outShape: [...batchShape, M, N],
  };
}

/** How matmul(a, b) (torch.matmul shapes) maps onto one kernel launch. */
export interface MatmulPlan {
  /** Shape of the result, as torch.matmul gives it (1-D operands' dimensions squeezed out). */
  outShape: number[];
  /** Broadcast batch shape. */
  batchShape: number[];
  M: number;
  N: number;
  K: number;
  /** Shape a / b take before the kernel: a 1-D operand promoted, broadcast batches materialised. */
  aShape: number[];
  bShape: number[];
  /** Whether a / b must be materialised with broadcastTo (a batch that is neither 1 nor the full one). */
  broadcastA: boolean;
  broadcastB: boolean;
  /** The flags the kernel runs with (a 1-D operand is never transposed). */
  transposeA: boolean;
  transposeB: boolean;
  /**
   * b is one matrix shared by every batch entry and a is not transposed: a's batch folds into M
   * ([B, M, K] is the row-major [B·M, K]) so the kernel, and dB in backward, see one big matrix.
   */
  foldBatchIntoM: boolean;
}

/** Shape-only planning of matmul(a, b); also what matmulCost is computed from. */
export function planMatmul(aShape: Shape, bShape: Shape, opts: MatmulOptions = {}): MatmulPlan {
  if (aShape.length === 0 || bShape.length === 0) throw new Error(`matmul needs operands of rank ≥ 1, got [${aShape}] and [${bShape}]`);
  // torch.matmul: a 1-D a is a row vector [1, K], a 1-D b a column [K, 1]; the unit dim goes after.
  const aVec = aShape.length === 1, bVec = bShape.length === 1;
  const transposeA = !aVec && !!opts.transposeA;
  const transposeB = !bVec && !!opts.transposeB;
  const a2 = aVec ? [1, aShape[0]] : [...aShape];
  const b2 = bVec ? [bShape[0], 1] : [...bShape];
  const M = transposeA ? a2[a2.length - 1] : a2[a2.length - 2];
  const Ka = transposeA ? a2[a2.length - 2] : a2[a2.length - 1];
  const Kb = transposeB ? b2[b2.length - 1] : b2[b2.length - 2];
  const N = transposeB ? b2[b2.length - 2] : b2[b2.length - 1];
  if (Ka !== Kb) {
    throw new Error(`matmul: inner dimensions differ: [${aShape}]${transposeA ? 'ᵀ' : ''} @ [${bShape}]${transposeB ? 'ᵀ' : ''} (${Ka} vs ${Kb})`);
  }
  const aBatch = a2.slice(0, -2), bBatch = b2.slice(0, -2);
  let batchShape: number[];
  try {
    batchShape = broadcastShapes(aBatch, bBatch);
  } catch {
    throw new Error(`matmul: batch dimensions of [${aShape}] and [${bShape}] do not broadcast ([${aBatch}] vs [${bBatch}])`);
  }
  const full = sizeOf(batchShape);
  // An operand is read in place when its batch is the whole batch (same shape up to leading 1s) or
  // a single matrix; any other partial broadcast ([2,1] against [3]) is materialised first.
  const inPlace = (batch: number[]) => sizeOf(batch) === 1 || sameShape([...new Array(batchShape.length - batch.length).fill(1), ...batch], batchShape);
  const broadcastA = !inPlace(aBatch), broadcastB = !inPlace(bBatch);
  const aShapeK = broadcastA ? [...batchShape, ...a2.slice(-2)] : a2;
  const bShapeK = broadcastB ? [...batchShape, ...b2.slice(-2)] : b2;
  const bSingle = sizeOf(bShapeK.slice(0, -2)) === 1;
  const outShape = [...batchShape, ...(aVec ? [] : [M]), ...(bVec ? [] : [N])];
  return {
    outShape, batchShape, M, N, K: Ka, aShape: aShapeK, bShape: bShapeK, broadcastA, broadcastB,
    transposeA, transposeB, foldBatchIntoM: bSingle && !transposeA && full > 1,
  };
}

/** The cost of matmul(a, b) for operands of these shapes (torch.matmul semantics, as the op). */
export function matmulCost(aShape: Shape, bShape: Shape, opts: MatmulOptions & { dtype?: DType } = {}): KernelCost {
  const p = planMatmul(aShape, bShape, opts);
  const batch = sizeOf(p.batchShape);
  // The operands as given (before any broadcast is materialised): that is what must be read.
  const batchA = sizeOf(aShape.slice(0, -2)), batchB = sizeOf(bShape.slice(0, -2));
  const el = bytesPerElement(opts.dtype ?? 'float32');
  return {
    flops: 2 * batch * p.M * p.N * p.K,
    bytes: el * (batchA * p.M * p.K + batchB * p.K * p.N + batch * p.M * p.N),
  };
}

/**
 * Attributes of the 'matmulStored' kernel: x [M, K] times a frozen 2-D weight of `shape` held in
 * `format` (inputs: x, then the weight's parts: a bfloat16 tensor, or NF4's codes and block
 * maxima), C = x·W, or x·Wᵀ with transposeB, without a float copy of W. On WebGPU it runs the
 * skinny kernel (skinny.ts), so it is for few rows (a decoding step); the op uses it up to
 * SKINNY_MAX_ROWS (16) rows and widens W for a tiled product above that.
 */
export interface StoredMatmulAttrs {
  format: 'bfloat16' | 'nf4';
  shape: Shape;
  transposeB: boolean;
}

/** The kernel-level layout of a stored-weight product (x 2-D, W 2-D). */
export function storedMatmulLayout(xShape: Shape, { shape, transposeB }: StoredMatmulAttrs): MatmulLayout {
  return matmulLayout(xShape, shape, false, transposeB);
}

/**
 * Attributes of the 'matmulGroup' kernel: x [M, K] times several weights sharing it, each [Nᵢ, K]
 * held in `format` (inputs: x, then each weight's parts: one tensor, or NF4's codes and maxima),
 * Yᵢ = x·Wᵢᵀ, one output each. On WebGPU one skinny launch for all (a decoding step's q/k/v or
 * gate/up projections); the results are those of the separate products.
 */
export interface GroupMatmulAttrs {
  format: 'float32' | 'bfloat16' | 'nf4';
  /** Each weight's [Nᵢ, K]. */
  shapes: Shape[];
}

/**
 * Attributes of the 'matmulGated' kernel: a group of two weights of one shape (gate, up) and the
 * gated activation applied to their products, Y = act(x·Gᵀ) ⊙ x·Uᵀ (silu: SwiGLU, gelu_tanh: GeGLU).
 */
export interface GatedMatmulAttrs extends GroupMatmulAttrs {
  activation: GatedActivation;
}

/** Checks a group product's shapes; gives M, K and the Nᵢ. */
export function groupMatmulDims(xShape: Shape, shapes: Shape[]): { M: number; K: number; Ns: number[] } {
  const K = xShape[1];
  if (xShape.length !== 2 || shapes.some((s) => s.length !== 2 || s[1] !== K)) {
    throw new Error(`matmulGroup: x [${xShape}] and weights ${shapes.map((s) => `[${s}]`).join(', ')}: x must be [M, K] and every weight [N, K]`);
  }
  return { M: xShape[0], K, Ns: shapes.map((s) => s[0]) };
}
