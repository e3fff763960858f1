// Generation throughput: B ragged prompts continued greedily with the key/value cache, as one
// batch (generateIds with every prompt: one forward per new token for all rows) against one prompt
// at a time (generateIds per prompt: what the cache did before it held a batch), side by side in
// the same run, alternating, medians. Both give the same tokens (checked here, and in the tests).
//
//   node dist/bench/generation.js [--device webgpu|cpu] [--shape tiny|smollm] [--batch 8] [--new 32] [--repeats 3]
import * as r from '../src/index.js';

const SHAPES = {
  tiny: { vocab_size: 1024, hidden_size: 128, intermediate_size: 352, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 512 },
  smollm: { vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, max_position_embeddings: 2048, tie_word_embeddings: true },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  if (args.includes('--help')) {
    console.log('usage: node dist/bench/generation.js [--device webgpu|cpu] [--shape tiny|smollm] [--batch 8] [--new 32] [--repeats 3]\n\nGreedy cached generation of B ragged prompts: one batch against one prompt at a time, same run.');
    return;
  }
  await r.init({ device: opt('--device', 'webgpu') as r.DeviceChoice });
  const device = r.getDefaultDevice();
  const shapeName = opt('--shape', 'tiny') as keyof typeof SHAPES;
  const cfg = SHAPES[shapeName];
  if (!cfg) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
  const B = Number(opt('--batch', '8')), newTokens = Number(opt('--new', '32')), repeats = Number(opt('--repeats', '3'));
  const model = new r.LlamaForCausalLM(cfg, { device, seed: 1 });
  // Ragged prompts, 8 to 64 tokens.
  const prompts = Array.from({ length: B }, (_, b) => Array.from({ length: 8 + ((b * 23) % 57) }, (_, i) => (b * 131 + i * 17 + 1) % cfg.vocab_size));
  const options = { maxNewTokens: newTokens };
  const batched = () => r.generateIds(model, prompts, options);
  const oneByOne = async () => {
    const out: number[][] = [];
    for (const p of prompts) out.push(...(await r.generateIds(model, [p], options)));
    return out;
  };
  // Warm-up (pipelines compile), and the two schedules must agree.
  const [a, b] = [await batched(), await oneByOne()];
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('batched and one-at-a-time generation disagree');
  const times: { batched: number[]; oneByOne: number[] } = { batched: [], oneByOne: [] };
  for (let k = 0; k < repeats; k++) {
    for (const [name, fn] of [['batched', batched], ['oneByOne', oneByOne]] as const) {
      await device.sync();
      const t0 = performance.now();
      await fn();
      times[name].push(performance.now() - t0);
    }
  }
  const tb = median(times.batched), to = median(times.oneByOne);
  const tokens = B * newTokens;
  console.log(`device: ${device.description}`);
  console.log(`model: ${shapeName} (hidden ${cfg.hidden_size}, ${cfg.num_hidden_layers} layers, vocabulary ${cfg.vocab_size}); ${B} prompts of 8-64 tokens, ${newTokens} new tokens each, greedy, median of ${repeats}\n`);
  console.log('| schedule | ms | tokens/s |');
  console.log('| --- | ---: | ---: |');
  console.log(`| one batch of ${B} | ${tb.toFixed(0)} | ${((tokens / tb) * 1000).toFixed(1)} |`);
  console.log(`| one prompt at a time | ${to.toFixed(0)} | ${((tokens / to) * 1000).toFixed(1)} |`);
  console.log(`\nbatched: ${(to / tb).toFixed(2)}× the throughput`);
  model.dispose();
  await r.shutdown();
}

await main();
