// The fault-injection tests' training run, in a process of its own: `node fault-run.js OUT [K]`
// trains a tiny float64 LLaMA on the CPU device (a byte tokenizer, so the vocabulary is small),
// saving every step, resuming from OUT's checkpoint when there is one; with K it kills itself
// (SIGKILL) at the K-th fault point. Prints the number of fault points it passed.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import type { TextTokenizer } from '../../src/io/index.js';
import { setFaultHook } from '../../src/train/fault-points.js';

const [out, killAt] = [process.argv[2], Number(process.argv[3] ?? 0)];
const tokenizer: TextTokenizer = {
  encode: async (text) => [...new TextEncoder().encode(text)],
  decode: async (ids) => new TextDecoder().decode(Uint8Array.from(ids.filter((i) => i < 256))),
  tokenToId: () => undefined,
  vocabSize: 258, bosId: 256, eosId: 257, addBos: true, path: '(bytes)',
};
const device = r.cpuDevice();
const records = ['The sky is', 'Water is', 'Fire is', 'Snow is', 'Grass is', 'Ice is'].map((prompt, i) => ({ prompt, chosen: ` good ${i}.`, rejected: ` bad ${'x'.repeat(i)}.` }));
const dataPath = join(out, '..', 'prefs.jsonl');
if (!existsSync(dataPath)) writeFileSync(dataPath, records.map((x) => JSON.stringify(x)).join('\n') + '\n');
const dataset = await r.readPreferenceJsonl(dataPath);
const config = { vocab_size: 260, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, architectures: ['LlamaForCausalLM'], model_type: 'llama' };
const policy = new r.LlamaForCausalLM(config, { device, dtype: 'float64', seed: 1, initStd: 0.1 });
const reference = new r.LlamaForCausalLM(config, { device, dtype: 'float64', seed: 2, initStd: 0.1 });
let passed = 0;
setFaultHook(() => {
  if (++passed === killAt) process.kill(process.pid, 'SIGKILL');
});
const resume = (await r.findCheckpoint(out)) !== null;
await r.trainPreference({
  policy, reference, tokenizer, dataset, loss: 'rpo', lr: 0.02, batchSize: 2, gradientAccumulationSteps: 2, steps: 4, seed: 9,
  warmupSteps: 1, maxGradNorm: 0.5, outDir: out, saveEvery: 1, resume,
});
process.stdout.write(`${passed}\n`);
