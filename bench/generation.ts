// Generation throughput: B ragged prompts continued greedily with the key/value cache, as one
// batch (generateIds with every prompt: one forward per new token for all rows) against one prompt
// at a time (generateIds per prompt: what the cache did before it held a batch), side by side in
// the same run, alternating, medians. Both give the same tokens (checked here, and in the tests).
//
//   node dist/bench/generation.js [--device webgpu|cpu] [--shape tiny|smollm] [--batch 8] [--new 32] [--repeats 3] [--base-dtypes float32,bfloat16,nf4]
//
// With several base dtypes, the model's Linear weights are held in each in turn (frozen), the same
// run: a decoding step reads bfloat16 / NF4 weights as stored (the skinny kernel). A third schedule
// picks the same tokens on the host from each step's logits (top-k 1), the greedy decoding of
// before it ran on the device and pipelined (docs/generation.md).
import * as r from '../src/index.js';

const SHAPES = {
  tiny: { vocab_size: 1024, hidden_size: 128, intermediate_size: 352, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 512 },
  smollm: { vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, max_position_embeddings: 2048, tie_word_embeddings: true },
};

const USAGE = 'node dist/bench/generation.js [--device webgpu|cpu] [--shape tiny|smollm] [--batch 8] [--new 32] [--repeats 3] [--base-dtypes float32,bfloat16,nf4]';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

type BaseDtype = 'float32' | 'bfloat16' | 'nf4';

/**
 * A cache holding the ragged prompts (right-padded, run once) with room for `steps` more tokens,
 * and a decoding step's input: one token per row, [B, 1]. The caller disposes both.
 */
function prefilled(device: r.Device, model: r.CausalLM, prompts: number[][], steps: number): { cache: r.KVCache; next: r.Tensor } {
  const B = prompts.length, T = Math.max(...prompts.map((p) => p.length));
  const cache = model.newCache(prompts.map((p) => p.length), steps);
  const ids = new Int32Array(B * T);
  prompts.forEach((p, b) => ids.set(p, b * T));
  r.noGrad(() => r.tidy(() => void model.forward(r.tensor(ids, [B, T], { device, dtype: 'int32' }), { cache, logitsAt: prompts.map((p) => p.length - 1) })));
  return { cache, next: r.tensor(Int32Array.from(prompts, (p) => p[0]), [B, 1], { device, dtype: 'int32' }) };
}

/**
 * The kernels one decoding step launches (prefill, then one step profiled): their count, GPU time
 * summed, and the most frequent names. The launch count is what a GPU's decoding step is mostly
 * made of at small batch.
 */
async function kernelsPerStep(device: r.Device, model: r.CausalLM, prompts: number[][]): Promise<string> {
  const gpu = device as r.Device & { canProfile?: boolean; profile?: <T>(fn: () => T) => Promise<{ result: T; kernels: { name: string; ms: number }[] }> };
  if (!gpu.profile || !gpu.canProfile) return 'not profiled (no timestamp queries on this device)';
  const { cache, next } = prefilled(device, model, prompts, 1);
  try {
    const { result, kernels } = await gpu.profile(() => r.noGrad(() => r.tidy(() => model.forward(next, { cache }))));
    result.dispose();
    const byName = new Map<string, { count: number; ms: number }>();
    for (const k of kernels) {
      const e = byName.get(k.name) ?? { count: 0, ms: 0 };
      byName.set(k.name, { count: e.count + 1, ms: e.ms + k.ms });
    }
    const top = [...byName].sort((a, b) => b[1].count - a[1].count).slice(0, 6).map(([n, e]) => `${n} ×${e.count}`).join(', ');
    const slowest = [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 6).map(([n, e]) => `${n} ${e.ms.toFixed(3)} ms (${(1000 * e.ms / e.count).toFixed(1)} µs each)`).join(', ');
    return `${kernels.length} kernels, ${kernels.reduce((s, k) => s + k.ms, 0).toFixed(2)} ms GPU (${top}); by time: ${slowest}`;
  } finally {
    next.dispose();
    cache.dispose();
  }
}

/**
 * A decoding step's host time against its wall time (prefill, then `steps` steps of the batch, each
 * forward timed as called, then with its logits read back; medians). The host part is the
 * JavaScript and WebGPU calls that record the step: on a GPU it bounds a small model's step.
 */
async function stepTimes(device: r.Device, model: r.CausalLM, prompts: number[][], steps = 24): Promise<string> {
  const { cache, next } = prefilled(device, model, prompts, steps);
  const host: number[] = [], wall: number[] = [];
  try {
    await device.sync();
    for (let s = 0; s < steps; s++) {
      const t0 = performance.now();
      const logits = r.noGrad(() => r.tidy(() => model.forward(next, { cache })));
      const t1 = performance.now();
      await logits.data();
      wall.push(performance.now() - t0);
      host.push(t1 - t0);
      logits.dispose();
    }
  } finally {
    next.dispose();
    cache.dispose();
  }
  return `${median(host).toFixed(2)} ms host (recording the step), ${median(wall).toFixed(2)} ms wall with the logits read back (median of ${steps} steps)`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  if (args.includes('--help')) {
    console.log(`usage: ${USAGE}\n\nGreedy cached generation of B ragged prompts: one batch against one prompt at a time and against\nthe same tokens picked on the host step by step, same run, for each base dtype asked for (the\nLinear weights held in float32, bfloat16 or NF4).`);
    return;
  }
  await r.init({ device: opt('--device', 'webgpu') as r.DeviceChoice });
  const device = r.getDefaultDevice();
  const shapeName = opt('--shape', 'tiny') as keyof typeof SHAPES;
  const cfg = SHAPES[shapeName];
  if (!cfg) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
  const B = Number(opt('--batch', '8')), newTokens = Number(opt('--new', '32')), repeats = Number(opt('--repeats', '3'));
  const dtypes = opt('--base-dtypes', 'float32').split(',') as BaseDtype[];
  for (const d of dtypes) if (!['float32', 'bfloat16', 'nf4'].includes(d)) throw new Error(`--base-dtypes: ${d} is not one of float32, bfloat16, nf4`);
  // Ragged prompts, 8 to 64 tokens.
  const prompts = Array.from({ length: B }, (_, b) => Array.from({ length: 8 + ((b * 23) % 57) }, (_, i) => (b * 131 + i * 17 + 1) % cfg.vocab_size));
  const options = { maxNewTokens: newTokens };
  const tokens = B * newTokens;
  const rows: string[] = [];
  const tokensPerS: Record<string, number> = {};
  const kernelCounts: string[] = [];
  const hostTimes: string[] = [];
  for (const dtype of dtypes) {
    const liveBefore = device.memory().liveBytes;
    const model = new r.LlamaForCausalLM(cfg, { device, seed: 1 });
    // The Linear weights frozen and held as asked (embeddings and norms stay float32).
    for (const p of model.parameters()) p.requiresGrad = false;
    if (dtype === 'bfloat16') r.storeFrozenWeightsInBfloat16(model);
    if (dtype === 'nf4') r.storeFrozenWeightsInNf4(model);
    const weightMiB = (device.memory().liveBytes - liveBefore) / 2 ** 20;
    const batched = () => r.generateIds(model, prompts, options);
    const oneByOne = async () => {
      const out: number[][] = [];
      for (const p of prompts) out.push(...(await r.generateIds(model, [p], options)));
      return out;
    };
    // Warm-up (pipelines compile), and the two schedules must agree.
    // The same greedy tokens picked on the host from each step's logits, one step at a time (top-k 1
    // samples the argmax): what greedy decoding did before it ran on the device, pipelined.
    const hostPicked = () => r.generateIds(model, prompts, { ...options, temperature: 1, topK: 1 });
    const [a, b, c] = [await batched(), await oneByOne(), await hostPicked()];
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${dtype}: batched and one-at-a-time generation disagree`);
    if (JSON.stringify(a) !== JSON.stringify(c)) throw new Error(`${dtype}: greedy on the device and picked on the host disagree`);
    const times: { batched: number[]; oneByOne: number[]; hostPicked: number[] } = { batched: [], oneByOne: [], hostPicked: [] };
    for (let k = 0; k < repeats; k++) {
      for (const [name, fn] of [['batched', batched], ['oneByOne', oneByOne], ['hostPicked', hostPicked]] as const) {
        await device.sync();
        const t0 = performance.now();
        await fn();
        times[name].push(performance.now() - t0);
      }
    }
    const tb = median(times.batched), to = median(times.oneByOne);
    tokensPerS[dtype] = (tokens / tb) * 1000;
    rows.push(`| ${dtype} | ${weightMiB.toFixed(1)} | one batch of ${B} | ${tb.toFixed(0)} | ${((tokens / tb) * 1000).toFixed(1)} |`);
    rows.push(`| ${dtype} | ${weightMiB.toFixed(1)} | one prompt at a time | ${to.toFixed(0)} | ${((tokens / to) * 1000).toFixed(1)} |`);
    rows.push(`| ${dtype} | | batched: ${(to / tb).toFixed(2)}× the throughput | | |`);
    const th = median(times.hostPicked);
    rows.push(`| ${dtype} | ${weightMiB.toFixed(1)} | one batch, each step's logits read and picked on the host | ${th.toFixed(0)} | ${((tokens / th) * 1000).toFixed(1)} |`);
    rows.push(`| ${dtype} | | greedy on the device, pipelined: ${(th / tb).toFixed(2)}× the throughput | | |`);
    kernelCounts.push(`${dtype}: ${await kernelsPerStep(device, model, prompts)}`);
    hostTimes.push(`${dtype}: ${await stepTimes(device, model, prompts)}`);
    model.dispose();
  }
  console.log(`device: ${device.description}`);
  console.log(`model: ${shapeName} (hidden ${cfg.hidden_size}, ${cfg.num_hidden_layers} layers, vocabulary ${cfg.vocab_size}); ${B} prompts of 8-64 tokens, ${newTokens} new tokens each, greedy, median of ${repeats}\n`);
  console.log('| weights | MiB | schedule | ms | tokens/s |');
  console.log('| --- | ---: | --- | ---: | ---: |');
  for (const row of rows) console.log(row);
  console.log(`\nkernels per decoding step (the batch of ${B}, one token each; GPU time summed):`);
  for (const line of kernelCounts) console.log(`- ${line}`);
  console.log(`\na decoding step of the batch of ${B}:`);
  for (const line of hostTimes) console.log(`- ${line}`);
  if (dtypes.length > 1 && tokensPerS.float32) {
    console.log('');
    for (const d of dtypes) if (d !== 'float32') console.log(`${d}: ${(tokensPerS[d] / tokensPerS.float32).toFixed(2)}× float32's batched tokens/s`);
  }
  await r.shutdown();
}

await main();
