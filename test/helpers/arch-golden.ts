// The checks every registered architecture passes against its golden file (written by
// test/models/golden/make_<arch>_golden.py, a plain-torch transcription of transformers' modeling
// code): logits on both devices, sequence log-probs and their float64 gradients, each architecture
// switch mattering, greedy generation cached and uncached, save → load, an NF4 base, RPO training.
import type { ExecutionContext } from 'ava';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import type { Device } from '../../src/index.js';
import { sideLogps } from '../../src/train/sequence-logps.js';
import type { TokenizedRows } from '../../src/data/tokenize.js';
import { assertClose, cpu, values } from './devices.js';
import { tokenizer } from './tiny-llama.js';

const GOLDEN_DIR = new URL('../../../test/models/golden/', import.meta.url).pathname;

/** One golden case: the inputs and what torch computed from them. */
export interface ArchGolden {
  config: Record<string, unknown>;
  /** The weights' files in test/models/golden/, loaded together. */
  safetensors: string[];
  ids: number[];
  lengths: number[];
  targets: number[];
  completion_mask: number[];
  shape: [number, number, number];
  logits_float32: number[];
  logits_float64: number[];
  seq_logprobs_float32: number[];
  seq_logprobs_float64: number[];
  loss_float64: number;
  grads_float64: Record<string, number[]>;
  generate: { prompts: number[][]; new_tokens: number; greedy: number[][] };
}

type Resolved = { -readonly [K in keyof r.ResolvedDecoderConfig]: r.ResolvedDecoderConfig[K] };

/** The golden model built through the registry from its config, its weights loaded (strict). */
export async function goldenModel(g: ArchGolden, device: Device, dtype: 'float32' | 'float64'): Promise<r.CausalLM> {
  const model = r.createCausalLM(g.config, { device, dtype, seed: 7 });
  const weights = new Map<string, r.Tensor>();
  for (const file of g.safetensors) for (const [n, w] of await r.loadSafetensors(join(GOLDEN_DIR, file), { device, dtype })) weights.set(n, w);
  try {
    model.loadStateDict(weights);
  } finally {
    for (const w of weights.values()) w.dispose();
  }
  return model;
}

/** The golden batch as the trainer's tokenized rows. */
export function goldenRows(g: ArchGolden, device: Device): TokenizedRows {
  const [B, T] = g.shape;
  const completionMask = r.tensor(Float32Array.from(g.completion_mask), [B, T], { device });
  return {
    ids: r.tensor(Int32Array.from(g.ids), [B, T], { device, dtype: 'int32' }),
    targets: r.tensor(Int32Array.from(g.targets), [B, T], { device, dtype: 'int32' }),
    completionMask,
    lengths: r.tensor(Int32Array.from(g.lengths), [B], { device, dtype: 'int32' }),
    tokenCounts: r.sum(completionMask, 1),
    rows: g.lengths.map((n, b) => g.ids.slice(b * T, b * T + n)),
    promptLengths: g.lengths.map(() => 1),
    truncated: g.lengths.map(() => false),
    length: T,
    padId: 0,
  };
}

const disposeRows = (rows: TokenizedRows) => [rows.ids, rows.targets, rows.completionMask, rows.lengths, rows.tokenCounts].forEach((x) => x.dispose());

/** The logits at valid (unpadded) positions only. */
function validRows(g: ArchGolden, flat: ArrayLike<number>): number[] {
  const [B, T, V] = g.shape;
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let t = 0; t < g.lengths[b]; t++) for (let v = 0; v < V; v++) out.push(flat[(b * T + t) * V + v]);
  return out;
}

async function logitsOf(model: r.CausalLM, g: ArchGolden, device: Device): Promise<number[]> {
  const rows = goldenRows(g, device);
  const logits = r.noGrad(() => r.tidy(() => model.forward(rows.ids, { keyPadding: rows.lengths })));
  const got = validRows(g, await logits.data());
  logits.dispose();
  disposeRows(rows);
  return got;
}

const TOL = { float64: { rtol: 1e-10, atol: 1e-12 }, float32: { rtol: 1e-4, atol: 3e-5 } };

/** Logits and sequence log-probs at valid positions against torch's, in the dtype's tolerance. */
export async function checkLogits(t: ExecutionContext, g: ArchGolden, device: Device, dtype: 'float32' | 'float64'): Promise<void> {
  const model = await goldenModel(g, device, dtype);
  const what = `${device.kind} ${dtype}`;
  assertClose(t, await logitsOf(model, g, device), validRows(g, g[`logits_${dtype}`]), TOL[dtype], `${what} logits`);
  const rows = goldenRows(g, device);
  const logps = r.noGrad(() => r.tidy(() => sideLogps(model, rows)));
  assertClose(t, await values(logps), g[`seq_logprobs_${dtype}`], dtype === 'float64' ? { rtol: 1e-10, atol: 1e-11 } : { rtol: 1e-4, atol: 2e-4 }, `${what} sequence log-probs`);
  logps.dispose();
  disposeRows(rows);
  model.dispose();
}

/**
 * d(Σ sequence log-probs)/d(parameters) in float64 on the CPU against torch autograd, without and
 * with gradient checkpointing (which recomputes each layer in backward: the same gradients).
 */
export async function checkGradients(t: ExecutionContext, g: ArchGolden): Promise<void> {
  for (const checkpointing of [false, true]) {
    const model = await goldenModel(g, cpu, 'float64');
    model.gradientCheckpointingEnable(checkpointing);
    const rows = goldenRows(g, cpu);
    const loss = r.tidy(() => {
      const l = r.sum(sideLogps(model, rows));
      l.backward();
      return l;
    });
    assertClose(t, [await loss.item()], [g.loss_float64], { rtol: 1e-10, atol: 0 }, 'loss');
    const params = model.namedParameters();
    for (const [name, want] of Object.entries(g.grads_float64)) {
      t.truthy(params.get(name), `${name} is a parameter`);
      assertClose(t, await values(params.get(name)!.grad!), want, { rtol: 1e-8, atol: 1e-10 }, `d loss / d ${name}${checkpointing ? ', checkpointing' : ''}`);
    }
    loss.dispose();
    disposeRows(rows);
    model.dispose();
  }
}

/** LoRA on every projection, with random B: merged into the weights, the same logits (float64). */
export async function checkLoraMerge(t: ExecutionContext, g: ArchGolden): Promise<void> {
  const model = await goldenModel(g, cpu, 'float64');
  r.applyLora(model, { r: 2, alpha: 4, seed: 3, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
  let seed = 11;
  for (const [name, p] of model.namedParameters()) {
    if (!name.includes('lora_B')) continue;
    const b = r.tensor(Float64Array.from({ length: p.size }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2), p.shape, { device: cpu, dtype: 'float64' });
    model.loadStateDict(new Map([[name, b]]), { strict: false });
    b.dispose();
  }
  const adapted = await logitsOf(model, g, cpu);
  const gap = Math.max(...adapted.map((v, i) => Math.abs(v - validRows(g, g.logits_float64)[i])));
  t.true(gap > 1e-3, `the adapters move the logits (${gap})`);
  r.mergeLora(model);
  t.false([...model.namedParameters().keys()].some((n) => n.includes('lora_')), 'merged: plain Linears again');
  assertClose(t, await logitsOf(model, g, cpu), adapted, { rtol: 1e-10, atol: 1e-12 }, 'merged logits');
  model.dispose();
}

/**
 * Each switch the architecture depends on, turned off in the built model's resolved config, moves
 * the float64 logits away from torch's: the golden test would catch its absence.
 */
export async function checkSwitchesMatter(t: ExecutionContext, g: ArchGolden, switches: Record<string, (c: Resolved) => void>): Promise<void> {
  const want = validRows(g, g.logits_float64);
  for (const [name, off] of Object.entries(switches)) {
    const model = await goldenModel(g, cpu, 'float64');
    off(model.resolved as Resolved);
    const got = await logitsOf(model, g, cpu);
    const gap = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
    t.true(gap > 1e-3, `${name} off: the logits move by ${gap}`);
    model.dispose();
  }
}

/** Greedy continuations of the golden prompts, batched with ragged prompts, cached and uncached. */
export async function checkGreedy(t: ExecutionContext, g: ArchGolden, device: Device, dtype: 'float32' | 'float64'): Promise<void> {
  const model = await goldenModel(g, device, dtype);
  const { prompts, new_tokens: maxNewTokens, greedy } = g.generate;
  const cached = await r.generateIds(model, prompts, { maxNewTokens, stopIds: [] });
  const uncached = await r.generateIds(model, prompts, { maxNewTokens, stopIds: [], cache: false });
  t.deepEqual(cached, greedy, `${device.kind} ${dtype} cached`);
  t.deepEqual(uncached, greedy, `${device.kind} ${dtype} uncached`);
  model.dispose();
}

/** A checkpoint folder holding the golden model (config.json and its weights). */
export async function goldenFolder(g: ArchGolden): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-arch-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(g.config));
  if (g.safetensors.length === 1) copyFileSync(join(GOLDEN_DIR, g.safetensors[0]), join(dir, 'model.safetensors'));
  else {
    // Several files: a sharded checkpoint with its index.
    const weightMap: Record<string, string> = {};
    for (const [i, file] of g.safetensors.entries()) {
      const shard = `model-0000${i + 1}-of-0000${g.safetensors.length}.safetensors`;
      copyFileSync(join(GOLDEN_DIR, file), join(dir, shard));
      for (const name of (await r.readSafetensorsHeader(join(dir, shard))).tensors.keys()) weightMap[name] = shard;
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }
  return dir;
}

/** loadPretrainedCausalLM picks the architecture from config.json; savePretrainedCausalLM → load gives the same logits bit for bit. */
export async function checkSaveLoad(t: ExecutionContext, g: ArchGolden, architecture: string): Promise<void> {
  const model = await r.loadPretrainedCausalLM(await goldenFolder(g), { device: cpu, dtype: 'float64' });
  t.is(model.architecture, architecture);
  const want = await logitsOf(model, g, cpu);
  assertClose(t, want, validRows(g, g.logits_float64), TOL.float64, 'loaded from a folder');
  const out = mkdtempSync(join(tmpdir(), 'relpo-arch-saved-'));
  await r.savePretrainedCausalLM(model, out);
  const config = await r.readCheckpointConfig(out);
  t.is(config['model_type'], g.config['model_type']);
  const back = await r.loadPretrainedCausalLM(out, { device: cpu, dtype: 'float64' });
  t.deepEqual(await logitsOf(back, g, cpu), want, 'saved and loaded back');
  for (const m of [model, back]) m.dispose();
}

/**
 * An NF4 base (every Linear quantized as it streams in) computes what a float model holding the
 * dequantized weights computes; LoRA adapters train on it and the base does not move.
 */
export async function checkNf4(t: ExecutionContext, g: ArchGolden, device: Device): Promise<void> {
  const dir = await goldenFolder(g);
  const dequantized = await r.loadPretrainedCausalLM(dir, { device });
  for (const [, m] of dequantized.namedModules()) {
    if (!(m instanceof r.Linear)) continue;
    const w = r.tidy(() => r.dequantizeNf4(r.quantizeNf4(m.weight)));
    m.loadStateDict({ weight: w }, { strict: false });
    w.dispose();
  }
  const nf4 = await r.loadPretrainedCausalLM(dir, { device, linearStorage: 'nf4' });
  const want = await logitsOf(dequantized, g, device);
  assertClose(t, await logitsOf(nf4, g, device), want, TOL.float32, 'NF4 base = float model of the dequantized weights');
  t.true(want.some((v, i) => Math.abs(v - validRows(g, g.logits_float32)[i]) > 1e-3), 'and quantization moved the logits (the check is not of the float model)');
  r.applyLora(nf4, { r: 2, alpha: 4, seed: 3, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
  const rows = goldenRows(g, device);
  const loss = r.tidy(() => {
    const l = r.neg(r.sum(sideLogps(nf4, rows)));
    l.backward();
    return l;
  });
  const trainable = [...nf4.namedParameters()].filter(([, p]) => p.requiresGrad);
  t.true(trainable.length > 0 && trainable.every(([n]) => n.includes('lora_')), `only the adapters train: ${trainable.map(([n]) => n)}`);
  for (const [n, p] of trainable.filter(([n]) => n.includes('lora_B'))) t.true((await values(p.grad!)).some((v) => v !== 0), `${n} has a gradient`);
  loss.dispose();
  disposeRows(rows);
  for (const m of [dequantized, nf4]) m.dispose();
}

/**
 * RPO through the trainer on a random model of the architecture (the LLaMA tokenizer's vocabulary),
 * full fine-tuning and LoRA: finite losses that fall over a few steps on a fixed batch.
 */
export async function checkRpoTraining(t: ExecutionContext, config: Record<string, unknown>, device: Device = cpu): Promise<void> {
  const tok = await tokenizer();
  const path = join(mkdtempSync(join(tmpdir(), 'relpo-arch-data-')), 'prefs.jsonl');
  const pairs = [['The sky is', ' blue.', ' green.'], ['Water is', ' wet.', ' dry.'], ['Fire is', ' hot.', ' cold.'], ['Snow is', ' white.', ' black.']];
  writeFileSync(path, pairs.map(([prompt, chosen, rejected]) => JSON.stringify({ prompt, chosen, rejected })).join('\n') + '\n');
  const dataset = await r.readPreferenceJsonl(path);
  const small = { ...config, vocab_size: tok.vocabSize };
  for (const lora of [false, true]) {
    const policy = r.createCausalLM(small, { device, dtype: 'float64', seed: 2, initStd: 0.1 });
    const reference = lora ? undefined : r.createCausalLM(small, { device, dtype: 'float64', seed: 2, initStd: 0.1 });
    if (lora) r.applyLora(policy, { r: 2, alpha: 4, seed: 5 });
    const run = await r.trainPreference({
      policy, reference, tokenizer: tok, dataset, loss: 'rpo', lr: lora ? 0.05 : 0.01, batchSize: 4, steps: 4, lrScheduler: 'constant',
      gradientAccumulationSteps: 1,
    });
    const losses = run.history.map((m) => m.loss);
    t.true(losses.every(Number.isFinite), `${lora ? 'LoRA' : 'full'}: finite losses ${losses}`);
    t.true(losses.at(-1)! < losses[0], `${lora ? 'LoRA' : 'full'}: the loss falls (${losses})`);
    policy.dispose();
    reference?.dispose();
  }
}
