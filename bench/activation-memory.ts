// How much memory a DPO training step holds beyond the model: the peak live bytes of one step
// (policy forward and backward, reference forward, AdamW) minus the bytes live before it. Measured
// at two depths, the difference divided by the extra layers and the tokens is what each decoder
// layer costs per token (float32 values), the figure that scales to any depth and batch; what is
// left is the fixed part (logits, one layer's temporaries, gradients in flight). Byte counts do not
// depend on the device's speed: the CPU device gives the numbers a GPU would, so Mistral-7B's
// widths can be checked on a machine without one, at a few tokens and one or two layers
// (docs/training.md, "Activation memory").
//
//   node dist/bench/activation-memory.js [--device cpu|webgpu] [--shape tiny|mistral-7b] [--lora-only] [--no-checkpointing] [--json]
import * as r from '../src/index.js';

const LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

export interface MemorySetup {
  name: string;
  config: { vocab_size: number; hidden_size: number; intermediate_size: number; num_attention_heads: number; num_key_value_heads: number; max_position_embeddings: number };
  /** The two depths whose difference gives the per-layer cost. */
  depths: [number, number];
  loraR: number;
  pairs: number;
  /** Tokens per row. */
  T: number;
  /** Random weights (tiny) or zeros (7B widths: drawing billions of values on the host takes minutes; memory does not depend on them). */
  zeroWeights: boolean;
}

export const TINY_SETUP: MemorySetup = {
  name: 'tiny',
  config: { vocab_size: 256, hidden_size: 128, intermediate_size: 352, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 },
  depths: [2, 6], loraR: 8, pairs: 2, T: 32, zeroWeights: false,
};

/**
 * Mistral-7B's layer widths, at 2 and 3 layers and 1 pair × 16 tokens, with a 1,024-token vocabulary
 * (the vocabulary is in the fixed part, not the per-layer slope; 32,000 would exceed a software
 * adapter's 128 MiB buffers and slow the CPU device down). Half an hour on the CPU device. Not 1
 * and 2: under LoRA the first layer's input takes no gradient (frozen embeddings), so its norm has
 * no node to recompute from, and the peak of a one-layer step falls elsewhere in the step.
 */
export const MISTRAL_7B_SETUP: MemorySetup = {
  name: 'mistral-7b',
  config: { vocab_size: 1024, hidden_size: 4096, intermediate_size: 14336, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 4096 },
  depths: [2, 3], loraR: 16, pairs: 1, T: 16, zeroWeights: true,
};

export interface MemoryRow {
  mode: string;
  /** Peak minus the bytes live before the step (weights, optimizer state, inputs), at each depth. */
  stepBytes: number[];
  /** Float32 values per token per decoder layer (the slope between the depths). */
  floatsPerTokenLayer: number;
  /** Float32 values per token the step needs at any depth (the intercept). */
  fixedFloatsPerToken: number;
}

export interface TrainMode {
  lora: boolean;
  checkpointing: boolean;
}

/**
 * Per token per layer, the values a decoder layer's backward rules keep, counted from the
 * architecture: the inputs of both norms (x, h; their outputs are recomputed from them), q and k
 * after RoPE, v, the attention output (its head-merged copy is recomputed from it), gate and up
 * (SwiGLU's output is recomputed from them), the attention's log-sum-exp (one per head); with LoRA
 * each adapter's rank-r activation and its α/r constant.
 */
export function savedFloatsPerTokenLayer(s: MemorySetup, lora: boolean): number {
  const c = s.config, d = c.hidden_size, kv = (d / c.num_attention_heads) * c.num_key_value_heads;
  const tokens = 2 * s.pairs * s.T;
  return 4 * d + 2 * kv + 2 * c.intermediate_size + c.num_attention_heads + (lora ? 7 * s.loraR + 7 / tokens : 0);
}

function dpoLoss(lp: r.Tensor, ref: r.Tensor, pairs: number): r.Tensor {
  const side = (x: r.Tensor, k: number) => r.narrow(x, 0, k * pairs, pairs);
  const margin = r.sub(r.sub(side(lp, 0), side(lp, 1)), r.sub(side(ref, 0), side(ref, 1)));
  return r.neg(r.mean(r.logSigmoid(r.mul(margin, 0.1))));
}

/** One step's peak memory above what was live before it, for one way of training. */
export function measureStep(device: r.Device, s: MemorySetup, layers: number, mode: TrainMode): number {
  const cfg = { ...s.config, num_hidden_layers: layers };
  const rows = 2 * s.pairs, T = s.T;
  const init = { device, seed: 1, ...(s.zeroWeights ? { initStd: 0 } : {}) };
  const policy = new r.LlamaForCausalLM(cfg, init);
  const reference = mode.lora ? null : new r.LlamaForCausalLM(cfg, init);
  if (mode.lora) r.applyLora(policy, { r: s.loraR, alpha: 2 * s.loraR, targetModules: LINEAR });
  policy.gradientCheckpointingEnable(mode.checkpointing);
  const opt = new r.AdamW(policy.parameters().filter((p) => p.requiresGrad), { lr: 1e-3 });
  const ids = r.tensor(Int32Array.from({ length: rows * T }, (_, i) => (i * 7919) % cfg.vocab_size), [rows, T], { device, dtype: 'int32' });
  const targets = r.tensor(Int32Array.from({ length: rows * T }, (_, i) => (i * 104729 + 3) % cfg.vocab_size), [rows, T], { device, dtype: 'int32' });
  const mask = r.tensor(Float32Array.from({ length: rows * T }, (_, i) => (i % T >= T / 2 ? 1 : 0)), [rows, T], { device });
  const step = () => r.tidy(() => {
    const lp = r.sequenceLogprobs(policy.forward(ids), targets, mask);
    const ref = r.tidy(() => r.noGrad(() => r.sequenceLogprobs(
      reference ? reference.forward(ids) : r.withAdaptersDisabled(policy, () => policy.forward(ids)), targets, mask)));
    const loss = dpoLoss(lp, ref, s.pairs);
    loss.backward();
    opt.step();
    opt.zeroGrad();
  });
  step(); // the optimizer's state exists from the first step on
  const baseBytes = device.memory().liveBytes;
  device.resetPeakMemory();
  step();
  const peakBytes = device.memory().peakLiveBytes ?? NaN;
  for (const t of [ids, targets, mask]) t.dispose();
  opt.dispose();
  policy.dispose();
  reference?.dispose();
  return peakBytes - baseBytes;
}

export function modeName(s: MemorySetup, mode: TrainMode): string {
  return `${mode.lora ? `LoRA r${s.loraR}, all projections, base as reference` : 'full fine-tune, reference model'}${mode.checkpointing ? ', checkpointing' : ''}`;
}

export function measureMode(device: r.Device, s: MemorySetup, mode: TrainMode): MemoryRow {
  const [l0, l1] = s.depths;
  const tokens = 2 * s.pairs * s.T;
  const stepBytes = s.depths.map((layers) => measureStep(device, s, layers, mode));
  const perLayer = (stepBytes[1] - stepBytes[0]) / (l1 - l0) / tokens / 4;
  return { mode: modeName(s, mode), stepBytes, floatsPerTokenLayer: perLayer, fixedFloatsPerToken: stepBytes[0] / tokens / 4 - l0 * perLayer };
}

const ALL_MODES: TrainMode[] = [false, true].flatMap((lora) => [false, true].map((checkpointing) => ({ lora, checkpointing })));

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  if (args.includes('--help')) {
    console.log([
      'usage: node dist/bench/activation-memory.js [--device cpu|webgpu] [--shape tiny|mistral-7b] [--depths A,B] [--lora-only] [--no-checkpointing] [--json]',
      '',
      'Peak memory of a DPO step above the model and optimizer state, per token per decoder layer',
      '(float32 values), from two depths; and the values the backward rules save, counted from the',
      'architecture. --shape mistral-7b: Mistral-7B\'s layer widths at 2 and 3 layers, 1 pair × 16 tokens.',
    ].join('\n'));
    return;
  }
  const base = opt('--shape', 'tiny') === 'mistral-7b' ? MISTRAL_7B_SETUP : TINY_SETUP;
  const depths = opt('--depths', base.depths.join(',')).split(',').map(Number);
  if (depths.length !== 2 || !depths.every((d) => Number.isInteger(d) && d > 0) || depths[1] <= depths[0]) throw new Error('--depths takes two increasing layer counts, e.g. 2,6');
  const setup: MemorySetup = { ...base, depths: [depths[0], depths[1]] };
  await r.init({ device: opt('--device', 'cpu') as r.DeviceChoice });
  const device = r.getDefaultDevice();
  const c = setup.config;
  let modes = args.includes('--lora-only') ? ALL_MODES.filter((m) => m.lora) : ALL_MODES;
  if (args.includes('--no-checkpointing')) modes = modes.filter((m) => !m.checkpointing);
  const rowsOut: MemoryRow[] = [];
  for (const m of modes) {
    process.stderr.write(`measuring: ${modeName(setup, m)}\n`);
    rowsOut.push(measureMode(device, setup, m));
  }
  if (args.includes('--json')) console.log(JSON.stringify(rowsOut, null, 2));
  else {
    console.log(`device: ${device.description}`);
    console.log(`model: hidden ${c.hidden_size}, MLP ${c.intermediate_size}, ${c.num_attention_heads}/${c.num_key_value_heads} heads, vocabulary ${c.vocab_size}; ${setup.pairs} pairs × ${setup.T} tokens; ${setup.depths.join(' and ')} layers`);
    console.log(`values a layer's backward rules save, per token (architecture count): ${savedFloatsPerTokenLayer(setup, false)} (full), ${savedFloatsPerTokenLayer(setup, true).toFixed(2)} (LoRA)\n`);
    console.log(`| mode | step peak above the model, KiB (${setup.depths.join(' / ')} layers) | floats per token per layer | fixed floats per token |`);
    console.log('| --- | ---: | ---: | ---: |');
    for (const row of rowsOut) console.log(`| ${row.mode} | ${row.stepBytes.map((b) => (b / 1024).toFixed(0)).join(' / ')} | ${row.floatsPerTokenLayer.toFixed(2)} | ${row.fixedFloatsPerToken.toFixed(0)} |`);
  }
  await r.shutdown();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
