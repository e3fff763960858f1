// The bench's `step-lora` case: a LoRA DPO training step at the scale people fine-tune on one GPU,
// Mistral-7B's shape (32 layers, hidden 4096, MLP 14336, 32 query / 8 key-value heads, vocabulary
// 32000) with rank-16 adapters on every projection, 2 pairs × 512 tokens, the base model (adapters
// off) as the reference, as TRL's DPOTrainer does with a PEFT model. On a software adapter the
// model is tiny. No TF.js counterpart.
//
// The 7.2B base weights are not drawn in JavaScript (minutes of Box–Muller on the host): the model
// is built with zeros, then every matrix is filled on the device with a 2^20-value block of N(0,
// 0.02²) samples, repeated (every matrix of this shape is a whole number of blocks). The kernels'
// speed does not depend on the values, but zeros would draw less power than real weights.
import * as r from '../src/index.js';
import type { BenchCase } from './cases.js';
import { randintHost } from './harness.js';
import { dpoStep } from './dpo-step.js';

const LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** Parameters of a LLaMA config: embeddings and head (untied), attention and MLP matrices. */
function llamaParams(c: { vocab_size: number; hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number; num_key_value_heads: number }): number {
  const d = c.hidden_size, kv = (d / c.num_attention_heads) * c.num_key_value_heads;
  return 2 * c.vocab_size * d + c.num_hidden_layers * (2 * d * d + 2 * d * kv + 3 * d * c.intermediate_size);
}

export function loraStepCase(small: boolean): BenchCase {
  const cfg = small
    ? { vocab_size: 512, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 }
    : { vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 4096 };
  const [pairs, T] = small ? [2, 64] : [2, 512];
  const rows = 2 * pairs;
  const block = small ? 1 << 10 : 1 << 20;
  let built: { model: r.CausalLM; opt: r.AdamW } | null = null;
  const build = (device: r.Device) => {
    if (built) return built;
    const model = new r.LlamaForCausalLM(cfg, { device, initStd: 0 });
    r.manualSeed(7);
    const sample = r.mul(r.randn([1, block], { device }), 0.02);
    for (const [name, p] of model.namedParameters()) {
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (p.shape.length < 2 || n % block !== 0) continue;
      // In a tidy: the broadcast copy under the reshaped view is freed too (until 2026-11-26 it was
      // not, and every step-lora peak in bench/results carried a leaked copy of the weights).
      r.tidy(() => void model.loadStateDict(new Map([[name, r.reshape(r.broadcastTo(sample, [n / block, block]), p.shape)]]), { strict: false }));
    }
    sample.dispose();
    r.applyLora(model, { r: 16, alpha: 32, targetModules: LINEAR });
    built = { model, opt: new r.AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-5 }) };
    return built;
  };
  // Policy forward and input-gradient backward through the frozen base (4·P·tokens; no weight
  // gradients but the adapters' own), the reference forward (2·P·tokens).
  const flops = 6 * llamaParams(cfg) * rows * T;
  return {
    group: 'step-lora',
    kernel: 'train step',
    shape: `${small ? 'tiny' : 'Mistral-7B'} LLaMA, LoRA r16 all projections, ${pairs} pairs × ${T} tokens`,
    inputs: [
      { shape: [rows, T], dtype: 'int32', fill: (n, seed) => randintHost(n, cfg.vocab_size, seed) },
      { shape: [rows, T], dtype: 'int32', fill: (n, seed) => randintHost(n, cfg.vocab_size, seed + 1) },
      { shape: [rows, T], fill: (n) => Float32Array.from({ length: n }, (_, i) => (i % T >= T / 2 ? 1 : 0)) },
    ],
    // The last two variants hold the base's weights in bfloat16, then NF4 (irreversibly: they run last).
    variants: ([
      { checkpointing: false, base: 'float32' },
      { checkpointing: true, base: 'float32' },
      { checkpointing: false, base: 'bfloat16' },
      { checkpointing: false, base: 'nf4' },
    ] as const).map(({ checkpointing, base }) => ({
      name: `dpo, base as reference: policy fwd+bwd, reference fwd, AdamW on the adapters${checkpointing ? ', gradient checkpointing' : ''}${base !== 'float32' ? `, base weights in ${base}` : ''}`,
      prepare: ([ids]: r.Tensor[]) => {
        const { model } = build(ids.device);
        if (base === 'bfloat16') r.storeFrozenWeightsInBfloat16(model);
        if (base === 'nf4') r.storeFrozenWeightsInNf4(model);
      },
      run: (x: r.Tensor[]) => {
        const { model, opt } = build(x[0].device);
        model.gradientCheckpointingEnable(checkpointing);
        return dpoStep(model, (ids) => r.withAdaptersDisabled(model, () => model.forward(ids)), opt, pairs, x);
      },
    })),
    cost: { flops, bytes: 0 },
    rate: 'flops',
  };
}
