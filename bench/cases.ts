// What `npm run bench` times: one entry per kernel and shape. A new kernel is one more entry in
// benchCases(): its inputs (made on the host, the same values for relpo and the peer), relpo's
// launch (one per variant: ladder rungs, fused vs unfused...), the peer's launch when TF.js has
// the same math, and the cost of one launch (src/kernels/<family>/contract.ts).
import type * as TF from '@tensorflow/tfjs-core';
import * as r from '../src/index.js';
import { MATMUL_SKINNY, MATMUL_VEC4_TALL_BLOCK_SPLIT_K, MATMUL_VERSIONS, chooseMatmulVersion } from '../src/kernels/matmul/webgpu.js';
import { matmulLayout } from '../src/kernels/matmul/contract.js';
import { SKINNY_ROWS, setSkinnyColumns, skinnyColumns } from '../src/kernels/matmul/skinny.js';
import { softmaxCost, logSigmoidCost } from '../src/kernels/softmax/contract.js';
import { tokenLogprobsCost, tokenLogprobsGradCost } from '../src/kernels/logprobs/contract.js';
import { rmsNormCost } from '../src/kernels/norm/contract.js';
import { swigluCost } from '../src/kernels/activation/contract.js';
import { attentionCost } from '../src/kernels/attention/contract.js';
import type { Tf } from './peer.js';
import { randintHost } from './harness.js';
import { loraStepCase } from './step-lora-case.js';
import { dpoStep } from './dpo-step.js';

export interface InputSpec {
  shape: number[];
  /** Default float32. */
  dtype?: 'float32' | 'int32';
  /** The host values, from a seed; default standard normal (randnHost). */
  fill?: (n: number, seed: number) => Float32Array | Int32Array;
}

export interface Variant {
  /** Shown in the table: the rung of a ladder, 'fused', 'unfused composition', ... */
  name: string;
  /** Queues the kernel(s) on the inputs (relpo tensors on the WebGPU device, in `inputs` order). */
  run: (x: r.Tensor[]) => r.Tensor | r.Tensor[];
  /** Builds what the variant keeps between launches (a model): run before timing and before the peak-memory count starts. */
  prepare?: (x: r.Tensor[]) => void;
}

export interface BenchCase {
  /** What `--only` selects on (several cases share one). */
  group: string;
  kernel: string;
  /** Shown in the table. */
  shape: string;
  inputs: InputSpec[];
  variants: Variant[];
  /** The same math in TF.js (tensors on its webgpu backend, in `inputs` order); absent when TF.js has no counterpart. */
  peer?: (tf: Tf, x: TF.Tensor[]) => TF.Tensor | TF.Tensor[];
  /** One launch's cost; `rate` says which of its fields the table reports per second. */
  cost: r.KernelCost;
  rate: 'flops' | 'bytes';
  /** Largest max-rel-error against the peer that counts as agreement (default 1e-4). */
  tol?: number;
  /** A variant's name: the others also get a time ratio against it (fused vs the unfused composition). */
  baseline?: string;
}

export interface CaseOptions {
  /** Software adapter: small shapes. */
  small: boolean;
  limits: GPUSupportedLimits;
  /** A software adapter (lavapipe), whose kernel defaults may differ. */
  software?: boolean;
}

export function benchCases({ small, limits, software = false }: CaseOptions): BenchCase[] {
  const cases: BenchCase[] = [];

  // matmul: square products, then LLaMA-style projections (tokens×hidden by hidden×intermediate)
  // for SmolLM-135M (576 → 1536) and TinyLlama-1.1B (2048 → 5632), 512 tokens. Every rung of the
  // ladder; the one relpo picks by default for the shape is marked.
  const matmulShapes: [string, number, number, number][] = small
    ? [['256³', 256, 256, 256], ['513×257×129', 513, 257, 129], ['SmolLM 128 tok', 128, 576, 1536]]
    : [['1024³', 1024, 1024, 1024], ['4096³', 4096, 4096, 4096], ['SmolLM-135M up', 512, 576, 1536], ['TinyLlama up', 512, 2048, 5632], ['TinyLlama down', 512, 5632, 2048]];
  for (const [label, M, K, N] of matmulShapes) {
    if (4 * Math.max(M * K, K * N, M * N) > limits.maxStorageBufferBindingSize) continue;
    const chosen = chooseMatmulVersion(matmulLayout([M, K], [K, N]));
    cases.push({
      group: 'matmul',
      kernel: 'matmul',
      shape: `${label} (${M}×${K}×${N})`,
      inputs: [{ shape: [M, K] }, { shape: [K, N] }],
      variants: MATMUL_VERSIONS.filter((v) => !(v.version === 0 && M * N * K > 2 ** 31 && !small)) // naive at 4096³ takes minutes
        .map((v) => ({
          name: `v${v.version} ${v.name}${v.version === chosen ? ' (default)' : ''}`,
          run: ([a, b]) => r.matmul(a, b, { version: v.version }),
        })),
      peer: (tf, [a, b]) => tf.matMul(a as TF.Tensor2D, b as TF.Tensor2D),
      cost: r.matmulCost([M, K], [K, N]),
      rate: 'flops',
      tol: 1e-4,
    });
  }

  // The same LLaMA projections as a model runs them: the weight stored [out, in] (torch.nn.Linear,
  // and so every Hugging Face checkpoint), the product X·Wᵀ (transposeB), and TF.js's
  // matMul(x, w, false, true). The vec4 rungs only.
  const linearShapes = matmulShapes.filter(([label]) => /up|down|tok/.test(label));
  for (const [label, M, K, N] of linearShapes) {
    const chosen = chooseMatmulVersion(matmulLayout([M, K], [N, K], false, true), false, true);
    cases.push({
      group: 'matmul',
      kernel: 'matmul',
      shape: `${label}, X·Wᵀ (${M}×${K}×${N})`,
      inputs: [{ shape: [M, K] }, { shape: [N, K] }],
      variants: MATMUL_VERSIONS.filter((v) => v.vec4)
        .map((v) => ({
          name: `v${v.version} ${v.name}${v.version === chosen ? ' (default)' : ''}`,
          run: ([a, b]) => r.matmul(a, b, { version: v.version, transposeB: true }),
        })),
      peer: (tf, [a, b]) => tf.matMul(a as TF.Tensor2D, b as TF.Tensor2D, false, true),
      cost: r.matmulCost([M, K], [N, K], { transposeB: true }),
      rate: 'flops',
      tol: 1e-4,
    });
  }

  // The skinny kernel with its columns per lane forced (1, 2, 4), beside its default choice: the
  // timings its default (skinnyColumns) is chosen from.
  const withColumns = <T>(C: number, run: () => T): T => {
    setSkinnyColumns(C);
    try {
      return run();
    } finally {
      setSkinnyColumns(undefined);
    }
  };
  const columnVariants = (M: number, format: 'float32' | 'bfloat16' | 'nf4', run: (inputs: r.Tensor[]) => r.Tensor) => [1, 2, 4].map((C) => ({
    name: `  the same, ${C} column${C > 1 ? 's' : ''} per lane${C === skinnyColumns(Math.min(M, SKINNY_ROWS), true, format, software) ? ' (its default)' : ''}`,
    run: (inputs: r.Tensor[]) => withColumns(C, () => run(inputs)),
  }));

  // A decoding step's products: B ≤ 16 rows (one new token per sequence) against a weight stored
  // [out, in], X·Wᵀ. They are bound by reading the weight, so the rate is bytes (the weight's, in
  // the form it is held). float32: the skinny rung against the naive one (the default before it)
  // and TF.js. bfloat16 / NF4: the weight read as stored against widening it first and then
  // multiplying (what the frozen-weight products did before; baseline).
  const decodeShapes: [string, number, number, number][] = small
    ? [['SmolLM-135M up', 1, 576, 1536], ['SmolLM-135M up', 8, 576, 1536], ['SmolLM-135M up', 16, 576, 1536], ['TinyLlama up', 1, 2048, 5632]]
    : [['TinyLlama up', 1, 2048, 5632], ['TinyLlama up', 8, 2048, 5632], ['TinyLlama up', 16, 2048, 5632], ['TinyLlama LM head', 8, 2048, 32000], ['Mistral-7B up', 1, 4096, 14336], ['Mistral-7B up', 4, 4096, 14336], ['Mistral-7B up', 8, 4096, 14336], ['Mistral-7B o', 8, 4096, 4096]];
  for (const [label, M, K, N] of decodeShapes) {
    const chosen = chooseMatmulVersion(matmulLayout([M, K], [N, K], false, true), false, true);
    const rungs = MATMUL_VERSIONS.filter((v) => v.version === 0 || v.skinny || v.version === MATMUL_VEC4_TALL_BLOCK_SPLIT_K);
    cases.push({
      group: 'decode',
      kernel: 'matmul',
      shape: `${label}, ${M} row${M > 1 ? 's' : ''}, float32 (${M}×${K}×${N})`,
      inputs: [{ shape: [M, K] }, { shape: [N, K] }],
      variants: rungs.flatMap((v) => [{
        name: `v${v.version} ${v.name}${v.version === chosen ? ' (default)' : ''}`,
        run: ([a, b]: r.Tensor[]) => r.matmul(a, b, { version: v.version, transposeB: true }),
      }, ...(v.skinny ? columnVariants(M, 'float32', ([a, b]) => r.matmul(a, b, { version: v.version, transposeB: true })) : [])]),
      peer: (tf, [a, b]) => tf.matMul(a as TF.Tensor2D, b as TF.Tensor2D, false, true),
      cost: r.matmulCost([M, K], [N, K], { transposeB: true }),
      rate: 'bytes',
    });
    for (const format of ['bfloat16', 'nf4'] as const) {
      // The stored weight is made once, outside the timed tidy, by whichever variant runs first.
      let stored: { w: r.Tensor } | { q: r.Nf4Weight } | undefined;
      const store = (w: r.Tensor) => (stored ??= r.noGrad(() => format === 'bfloat16' ? { w: r.keep(r.toBfloat16(w)) } : (() => {
        const q = r.quantizeNf4(w);
        return { q: { ...q, codes: r.keep(q.codes), absmax: r.keep(q.absmax) } };
      })()));
      const widen = (s: NonNullable<typeof stored>) => ('w' in s ? r.fromBfloat16(s.w) : r.dequantizeNf4(s.q));
      const product = (x: r.Tensor, s: NonNullable<typeof stored>) => ('w' in s ? r.matmulBfloat16Weight(x, s.w, { transposeB: true }) : r.matmulNf4Weight(x, s.q, { transposeB: true }));
      const heldBytes = format === 'bfloat16' ? 2 * N * K : N * K / 2 + 4 * Math.ceil((N * K) / r.NF4_BLOCK);
      const baseline = 'widen, then the naive product (before)';
      cases.push({
        group: 'decode',
        kernel: 'matmulStored',
        shape: `${label}, ${M} row${M > 1 ? 's' : ''}, ${format} (${M}×${K}×${N})`,
        inputs: [{ shape: [M, K] }, { shape: [N, K] }],
        variants: [
          { name: baseline, run: ([a, b]) => r.matmul(a, widen(store(b)), { transposeB: true, version: 0 }) },
          { name: 'widen, then the skinny float32 product', run: ([a, b]) => r.matmul(a, widen(store(b)), { transposeB: true, version: MATMUL_SKINNY }) },
          { name: 'read as stored (skinny, default)', run: ([a, b]) => product(a, store(b)) },
          ...columnVariants(M, format, ([a, b]) => product(a, store(b))),
        ],
        cost: { flops: 2 * M * N * K, bytes: heldBytes + 4 * (M * K + M * N) },
        rate: 'bytes',
        baseline,
      });
    }
  }

  // A decoding step's q/k/v projections: three skinny launches against one for the group
  // (matmulGroup, what the model runs). SmolLM-135M (576 → 576, 192, 192) and Mistral-7B
  // (4096 → 4096, 1024, 1024), 8 rows.
  const qkvShapes: [string, number, number, number[]][] = small
    ? [['SmolLM-135M', 8, 576, [576, 192, 192]]]
    : [['SmolLM-135M', 8, 576, [576, 192, 192]], ['Mistral-7B', 8, 4096, [4096, 1024, 1024]]];
  for (const [label, M, K, Ns] of qkvShapes) {
    const baseline = 'three products';
    cases.push({
      group: 'decode',
      kernel: 'matmulGroup',
      shape: `${label} q/k/v, ${M} rows (${M}×${K}×${Ns.join('+')})`,
      inputs: [{ shape: [M, K] }, ...Ns.map((N) => ({ shape: [N, K] }))],
      variants: [
        { name: baseline, run: ([x, ...ws]) => ws.map((w) => r.matmul(x, w, { transposeB: true })) },
        { name: 'one group launch', run: ([x, ...ws]) => r.noGrad(() => r.matmulGroup(x, ws)) },
      ],
      cost: { flops: 2 * M * K * Ns.reduce((a, b) => a + b, 0), bytes: 4 * (M * K + Ns.reduce((a, b) => a + b * (K + M), 0)) },
      rate: 'bytes',
      baseline,
    });
  }

  // A decoding step's gate and up projections and SwiGLU: the group launch then swiglu (before)
  // against one gated launch (matmulSwiglu, what the model runs). SmolLM-135M (576 → 1536) and
  // Mistral-7B (4096 → 14336), 8 rows.
  const gatedShapes: [string, number, number, number][] = small
    ? [['SmolLM-135M', 8, 576, 1536]]
    : [['SmolLM-135M', 8, 576, 1536], ['Mistral-7B', 8, 4096, 14336]];
  for (const [label, M, K, N] of gatedShapes) {
    const baseline = 'group launch + swiglu (before)';
    cases.push({
      group: 'decode',
      kernel: 'matmulSwiglu',
      shape: `${label} gate/up + SwiGLU, ${M} rows (${M}×${K}×${N}·2)`,
      inputs: [{ shape: [M, K] }, { shape: [N, K] }, { shape: [N, K] }],
      variants: [
        { name: baseline, run: ([x, g, u]) => r.noGrad(() => r.swiglu(...(r.matmulGroup(x, [g, u]) as [r.Tensor, r.Tensor]))) },
        { name: 'one gated launch', run: ([x, g, u]) => r.noGrad(() => r.matmulSwiglu(x, g, u)) },
      ],
      cost: { flops: 4 * M * K * N, bytes: 4 * (M * K + 2 * N * K + M * N) },
      rate: 'bytes',
      baseline,
    });
  }

  // A decoding step's attention, per layer: the new key and value column joins the cache and one
  // query per row and head attends over it. Before (baseline): the cache concatenated with the new
  // column (a copy of the whole cache), kv heads repeated for GQA (indexSelect), matmul, scale,
  // where, softmax, matmul. Now: the column written into a preallocated cache in place (cacheWrite)
  // and decodeAttention reading it in place. SmolLM-135M's heads (9 × 64, 3 kv) and Mistral-7B's
  // (32 × 128, 8 kv), 8 rows.
  // One row over a long cache is where v2 (columns split across workgroups) should pay: v0 has a
  // workgroup per (row, head) only.
  const decodeAttentionShapes: [string, number, number, number, number, number][] = small
    ? [['SmolLM-135M', 8, 9, 3, 64, 256], ['SmolLM-135M', 1, 9, 3, 64, 2048]]
    : [['SmolLM-135M', 8, 9, 3, 64, 1024], ['Mistral-7B', 8, 32, 8, 128, 512], ['Mistral-7B', 8, 32, 8, 128, 2048], ['Mistral-7B', 1, 32, 8, 128, 4096]];
  for (const [label, B, H, Hkv, D, L] of decodeAttentionShapes) {
    const baseline = 'concat + composition (before)';
    const ones = (n: number) => new Float32Array(n).fill(1);
    cases.push({
      group: 'decode',
      kernel: 'decodeAttention',
      shape: `${label} heads, ${B} rows × ${L} columns`,
      inputs: [
        { shape: [B, H, 1, D] },
        { shape: [B, Hkv, L - 1, D] }, { shape: [B, Hkv, L - 1, D] }, // the cache before the step (baseline)
        { shape: [B, Hkv, 1, D] }, { shape: [B, Hkv, 1, D] }, // the new column
        { shape: [B, Hkv, L, D] }, { shape: [B, Hkv, L, D] }, // a preallocated cache
        { shape: [B, L], fill: ones },
      ],
      variants: [
        { name: baseline, run: ([q, k0, v0, k1, v1, , , vis]) => r.decodeAttentionUnfused(q, r.concat([k0, k1], 2), r.concat([v0, v1], 2), vis) },
        ...r.DECODE_ATTENTION_VERSIONS.map(({ version, name }) => ({
          name: `cacheWrite + decodeAttention v${version}, ${name}${version === 0 ? ' (default)' : ''}`,
          run: ([q, , , k1, v1, kc, vc, vis]: r.Tensor[]) => {
            r.cacheWrite([kc, vc], [k1, v1], L - 1);
            return r.decodeAttention(q, kc, vc, vis, undefined, version);
          },
        })),
      ],
      cost: r.decodeAttentionCost({ B, H, Hkv, C: L, D, L }),
      rate: 'bytes',
      baseline,
      tol: 1e-4,
    });
  }

  // The cost of a launch itself: an add of 64 floats does no work worth timing, so its time per
  // launch is what each library spends in JavaScript and submission per kernel (the "JS ms"
  // column), the floor under every small kernel of a training step.
  cases.push({
    group: 'launch',
    kernel: 'add',
    shape: '[64] (launch cost)',
    inputs: [{ shape: [64] }, { shape: [64] }],
    variants: [{ name: 'elementwise', run: ([a, b]) => r.add(a, b) }],
    peer: (tf, [a, b]) => tf.add(a, b),
    cost: { flops: 64, bytes: 3 * 64 * 4 },
    rate: 'bytes',
  });

  // softmax and log-softmax over the last axis: rows of a 32k vocabulary, and a square.
  const softmaxShapes = small ? [[512, 4096]] : [[512, 32000], [4096, 32000], [8192, 8192]];
  for (const shape of softmaxShapes) {
    for (const log of [false, true]) {
      cases.push({
        group: 'softmax',
        kernel: log ? 'logSoftmax' : 'softmax',
        shape: `[${shape}]`,
        inputs: [{ shape }],
        variants: [{ name: 'row per workgroup', run: ([x]) => (log ? r.logSoftmax(x) : r.softmax(x)) }],
        peer: (tf, [x]) => (log ? tf.logSoftmax(x) : tf.softmax(x)),
        cost: softmaxCost(shape, 'float32', -1, log),
        rate: 'bytes',
      });
    }
  }

  // log σ(x), elementwise (the DPO/RPO loss's nonlinearity).
  const n = small ? 1 << 20 : 1 << 26;
  cases.push({
    group: 'logsigmoid',
    kernel: 'logSigmoid',
    shape: `[${n}]`,
    inputs: [{ shape: [n] }],
    variants: [{ name: 'elementwise', run: ([x]) => r.logSigmoid(x) }],
    peer: (tf, [x]) => tf.logSigmoid(x),
    cost: logSigmoidCost([n], 'float32'),
    rate: 'bytes',
  });

  // RMSNorm over TinyLlama's hidden size (2048) for 8k tokens; TF.js has no RMSNorm, so its peer
  // is the composition HF writes (x · rsqrt(mean(x²) + eps) · w).
  const normShape = small ? [512, 576] : [8192, 2048];
  cases.push({
    group: 'norm',
    kernel: 'rmsNorm',
    shape: `[${normShape}]`,
    inputs: [{ shape: normShape }, { shape: [normShape[1]] }],
    variants: [{ name: 'row per workgroup', run: ([x, w]) => r.rmsNorm(x, w, 1e-6) }],
    peer: (tf, [x, w]) => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), w),
    cost: rmsNormCost(normShape, 'float32'),
    rate: 'bytes',
  });

  // Column sums: a bias or norm-weight gradient summed over the tokens (few outputs down a long
  // axis, the split-column kernel), and a square for contrast.
  for (const shape of small ? [[1024, 576], [512, 512]] : [[1024, 576], [8192, 2048], [4096, 4096]]) {
    cases.push({
      group: 'reduce',
      kernel: 'sum',
      shape: `[${shape}] over axis 0`,
      inputs: [{ shape }],
      variants: [{ name: 'columns', run: ([x]) => r.sum(x, 0) }],
      peer: (tf, [x]) => tf.sum(x, 0),
      cost: { flops: shape[0] * shape[1], bytes: 4 * (shape[0] * shape[1] + shape[1]) },
      rate: 'bytes',
    });
  }

  // SwiGLU over TinyLlama's intermediate size (5632) for 8k tokens; the peer composes it.
  const gluShape = small ? [512, 1536] : [8192, 5632];
  cases.push({
    group: 'swiglu',
    kernel: 'swiglu',
    shape: `[${gluShape}]`,
    inputs: [{ shape: gluShape }, { shape: gluShape }],
    variants: [{ name: 'elementwise, fused', run: ([g, u]) => r.swiglu(g, u) }],
    peer: (tf, [g, u]) => tf.mul(tf.mul(g, tf.sigmoid(g)), u),
    cost: swigluCost(gluShape, 'float32'),
    rate: 'bytes',
  });

  // Attention, causal, 32 heads × 64 (small: 4 heads): fused (flash-style, O(T·D) memory) against
  // the unfused composition (matmul, masked softmax, matmul: a [B,H,T,T] score matrix), forward
  // alone and forward + backward. At T = 4096 the unfused scores need 2 GiB; its row then reports
  // the error instead of a time.
  const heads = small ? 4 : 32, headDim = 64;
  for (const T of small ? [128, 256] : [512, 2048, 4096]) {
    const shape = [1, heads, T, headDim];
    const cost = attentionCost({ B: 1, H: heads, Hkv: heads, T, D: headDim }, { causal: true });
    const withGrad = (f: (q: r.Tensor, k: r.Tensor, v: r.Tensor) => r.Tensor) => (xs: r.Tensor[]) => {
      for (const x of xs) {
        x.requiresGrad = true;
        x.zeroGrad();
      }
      const y = f(xs[0], xs[1], xs[2]);
      r.sum(y).backward();
      return y;
    };
    for (const backward of [false, true]) {
      const fused = (q: r.Tensor, k: r.Tensor, v: r.Tensor) => r.attention(q, k, v, { causal: true });
      const unfused = (q: r.Tensor, k: r.Tensor, v: r.Tensor) => r.attentionUnfused(q, k, v, { causal: true });
      cases.push({
        group: 'attention',
        kernel: 'attention',
        shape: `[${shape}] ${backward ? 'fwd+bwd' : 'fwd'}`,
        inputs: [{ shape }, { shape }, { shape }],
        variants: [
          { name: 'unfused composition', run: backward ? withGrad(unfused) : ([q, k, v]) => unfused(q, k, v) },
          { name: 'fused (flash-style)', run: backward ? withGrad(fused) : ([q, k, v]) => fused(q, k, v) },
          // The tile presets that fit the adapter, forward + backward, to pick the default from.
          ...(backward && !small
            ? r.ATTENTION_VERSIONS.filter((v) => v.version >= 3 && (['forward', 'dq', 'dkv'] as const).every((k) => r.attentionSharedBytes(k, v[k], headDim) <= limits.maxComputeWorkgroupStorageSize))
              .map((v) => ({ name: `fused, tiles v${v.version} (${v.name})`, run: withGrad((q, k, vv) => r.attention(q, k, vv, { causal: true, version: v.version })) }))
            : []),
        ],
        cost: backward ? { flops: cost.forward.flops + cost.backward.flops, bytes: cost.forward.bytes + cost.backward.bytes } : cost.forward,
        rate: 'flops',
        baseline: 'unfused composition',
      });
    }
  }

  // Gemma-2's attention: head_dim 256 with soft-capping (attn_logit_softcapping 50), forward +
  // backward; at 32 KiB of workgroup memory or less the backward stages head_dim in chunks.
  {
    const T = small ? 128 : 1024, H = small ? 4 : 8, D = 256;
    const shape = [1, H, T, D];
    const cost = attentionCost({ B: 1, H, Hkv: H, T, D }, { causal: true });
    const grad = (f: typeof r.attention) => (xs: r.Tensor[]) => {
      for (const x of xs) {
        x.requiresGrad = true;
        x.zeroGrad();
      }
      const y = f(xs[0], xs[1], xs[2], { causal: true, softcap: 50 });
      r.sum(y).backward();
      return y;
    };
    cases.push({
      group: 'attention',
      kernel: 'attention',
      shape: `[${shape}] softcap 50 fwd+bwd`,
      inputs: [{ shape }, { shape }, { shape }],
      variants: [
        { name: 'unfused composition', run: grad(r.attentionUnfused) },
        { name: 'fused (flash-style)', run: grad(r.attention) },
      ],
      cost: { flops: cost.forward.flops + cost.backward.flops, bytes: cost.forward.bytes + cost.backward.bytes },
      rate: 'flops',
      baseline: 'unfused composition',
    });
  }

  // Token log-probs at a 32k vocabulary, forward + backward: the fused kernels against the
  // composition logSoftmax + gather (which materialises a [B,T,V] log-softmax and its gradient);
  // the same with Gemma-2's soft-capping (cap 30): in the kernel against softcap then the composition.
  const [B, T, V] = small ? [2, 32, 32000] : [16, 512, 32000];
  const ids = (n: number, seed: number) => Int32Array.from({ length: n }, (_, i) => (i * 7919 + seed * 104729) % V);
  const forwardBackward = (logp: (x: r.Tensor, t: r.Tensor) => r.Tensor) => ([x, t]: r.Tensor[]) => {
    x.requiresGrad = true;
    x.zeroGrad();
    const y = logp(x, t);
    r.sum(y).backward();
    return y;
  };
  const fwd = tokenLogprobsCost([B, T, V], 'float32', false), bwd = tokenLogprobsGradCost([B, T, V], 'float32', false);
  cases.push({
    group: 'logprobs',
    kernel: 'tokenLogprobs',
    shape: `[${B},${T},${V}] fwd+bwd`,
    inputs: [{ shape: [B, T, V] }, { shape: [B, T], dtype: 'int32', fill: ids }],
    variants: [
      { name: 'unfused logSoftmax+gather', run: forwardBackward((x, t) => r.reshape(r.gather(r.logSoftmax(x, -1), 2, r.reshape(t, [B, T, 1])), [B, T])) },
      { name: 'fused', run: forwardBackward((x, t) => r.tokenLogprobs(x, t)) },
      { name: 'unfused softcap+logSoftmax+gather', run: forwardBackward((x, t) => r.reshape(r.gather(r.logSoftmax(r.softcap(x, 30), -1), 2, r.reshape(t, [B, T, 1])), [B, T])) },
      { name: 'fused softcap', run: forwardBackward((x, t) => r.tokenLogprobs(x, t, undefined, { softcap: 30 })) },
    ],
    cost: { flops: fwd.flops + bwd.flops, bytes: fwd.bytes + bwd.bytes },
    rate: 'bytes',
    baseline: 'unfused logSoftmax+gather',
  });

  // A whole DPO training step of a LLaMA-style model (random weights): policy forward + backward
  // through every kernel above, the frozen reference's forward, the loss, AdamW. The model is the
  // SmolLM-135M shape on a GPU (tiny on a software adapter) and is built on first use, so --only
  // without this group never allocates it. No TF.js counterpart: the row reports time and rate.
  const stepCfg = small
    ? { vocab_size: 512, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 }
    : { vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, tie_word_embeddings: true };
  const [pairs, stepT] = small ? [2, 64] : [8, 512];
  const rows = 2 * pairs;
  let step: { policy: r.CausalLM; reference: r.CausalLM; opt: r.AdamW } | null = null;
  const model = (device: r.Device) => {
    if (!step) {
      const policy = new r.LlamaForCausalLM(stepCfg, { seed: 1, device });
      const reference = new r.LlamaForCausalLM(stepCfg, { seed: 1, device });
      step = { policy, reference, opt: new r.AdamW(policy.parameters(), { lr: 1e-5 }) };
    }
    return step;
  };
  const params = (c: typeof stepCfg) => {
    const d = c.hidden_size, kv = (d / c.num_attention_heads) * c.num_key_value_heads;
    return c.vocab_size * d * ('tie_word_embeddings' in c ? 1 : 2) + c.num_hidden_layers * (2 * d * d + 2 * d * kv + 3 * d * c.intermediate_size);
  };
  const tokens = rows * stepT;
  // 6·params·tokens for the policy's forward and backward, 2·params·tokens for the reference's forward.
  const stepFlops = 8 * params(stepCfg) * tokens;
  cases.push({
    group: 'step',
    kernel: 'train step',
    shape: `${small ? 'tiny' : 'SmolLM-135M'} LLaMA, ${pairs} pairs × ${stepT} tokens`,
    inputs: [
      { shape: [rows, stepT], dtype: 'int32', fill: (n, seed) => randintHost(n, stepCfg.vocab_size, seed) },
      { shape: [rows, stepT], dtype: 'int32', fill: (n, seed) => randintHost(n, stepCfg.vocab_size, seed + 1) },
      // Completion mask: the second half of each row.
      { shape: [rows, stepT], fill: (n) => Float32Array.from({ length: n }, (_, i) => (i % stepT >= stepT / 2 ? 1 : 0)) },
    ],
    variants: [{
      name: 'dpo: policy fwd+bwd, reference fwd, AdamW',
      prepare: ([ids]) => void model(ids.device),
      run: (x) => {
        const { policy, reference, opt } = model(x[0].device);
        return dpoStep(policy, (ids) => reference.forward(ids), opt, pairs, x);
      },
    }],
    cost: { flops: stepFlops, bytes: 0 },
    rate: 'flops',
  });
  cases.push(loraStepCase(small));

  return cases;
}
