// The data-parallel trainer's step time for N ranks, the gradient sum apart (docs/distributed.md):
//   mpirun --oversubscribe -np N node dist/bench/data-parallel-train.js [--loss dpo] [--steps 6]
// relpo train's tiny random LLaMA (hidden 32, 2 layers, vocab 32000: 2.1 M float32 parameters) on
// the CPU device, the toy dataset, steps of 4 micro-batches × 2 pairs (the same effective batch for
// any N dividing 4). Rank 0 prints the median step time over the steps after the first, and the
// medians of rank 0's parts of it: its share of the micro-batches, the wait for the slowest rank,
// the gradient sum (read back, all-reduce, write back; the all-reduce alone).
import * as r from '../src/index.js';
import { communicatorFromEnv } from '../src/distributed/index.js';
import { DEFAULT_DATA, defaultTokenizer } from '../src/cli/defaults.js';
import { flagReader, median } from './rank-bench.js';

const flag = flagReader();
const loss = flag('loss', 'dpo');
const steps = Number(flag('steps', '6'));

const comm = communicatorFromEnv();
const device = await r.init({ device: 'cpu', quiet: true });
const tokenizer = await r.loadTokenizer(defaultTokenizer());
const config = { model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-6, max_position_embeddings: 512, tie_word_embeddings: false, vocab_size: tokenizer.vocabSize };
const policy = await r.createCausalLM(config, { device, seed: 0 });
const reference = await r.createCausalLM(config, { device, seed: 0 });
const dataset = await r.readPreferenceData(DEFAULT_DATA);
const stamps: number[] = [performance.now()];
const times: Record<string, number>[] = [];
await r.trainPreference({
  policy, reference, tokenizer, dataset, loss, lr: 1e-3, batchSize: 2, gradientAccumulationSteps: 4, steps, seed: 0, communicator: comm,
  log: (m) => {
    stamps.push(performance.now());
    times.push(Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('time/'))));
  },
});
const stepS = median(stamps.slice(2).map((t, i) => (t - stamps[i + 1]) / 1000));
const part = (k: string) => median(times.slice(1).map((t) => t[k] ?? 0)).toFixed(3);
const params = policy.parameters().reduce((n, p) => n + p.size, 0);
if (comm.rank === 0) {
  process.stdout.write(`${loss}, ${comm.size} rank(s), ${(params / 1e6).toFixed(2)} M float32 parameters: step ${stepS.toFixed(3)} s (${(1 / stepS).toFixed(3)} steps/s), ${comm.size > 1 ? `this rank's share ${part('time/share_s')} s, waiting for the other ${part('time/wait_s')} s, gradient sum ${part('time/grad_sync_s')} s (all-reduce ${part('time/allreduce_s')} s)` : ''}\n`);
}
