// A web page's use, run in Node: a tiny LLaMA checkpoint held as bytes in memory, thumbs up and
// down on answers as unpaired records, a LoRA adapter trained with RPO (unpaired) or KTO, and the
// adapter as files in memory loaded back into a fresh base. Nothing here needs a file system; the
// no-file-system test runs it both with node:fs and friends trapped and normally.
import * as r from '../../src/index.js';
import type { TextTokenizer } from '../../src/io/index.js';
import { textEmbedder } from './step-data.js';

/** Bytes as token ids (256 and 257 are BOS and EOS): pure JavaScript, no tokenizer files. */
export const byteTokenizer: TextTokenizer = {
  encode: async (text) => [...new TextEncoder().encode(text)],
  decode: async (ids) => new TextDecoder().decode(Uint8Array.from(ids.filter((i) => i < 256))),
  tokenToId: () => undefined,
  vocabSize: 258, bosId: 256, eosId: 257, addBos: true, path: '(bytes)',
};

const CONFIG = { vocab_size: 260, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, architectures: ['LlamaForCausalLM'], model_type: 'llama' };

/** Thumbs up (label true) and down on two answers to each of four prompts. */
export const FEEDBACK = [
  ['The sky is', ' blue.', ' green.'], ['Water is', ' wet.', ' dry.'], ['Fire is', ' hot.', ' cold.'], ['Snow is', ' white.', ' black.'],
].flatMap(([prompt, up, down]) => [{ prompt, completion: up, label: true }, { prompt, completion: down, label: false }]);

/** The checkpoint's files as a page would hold them (fetched or picked): config.json and model.safetensors. */
export async function checkpointFiles(): Promise<Map<string, Uint8Array>> {
  const model = new r.LlamaForCausalLM(CONFIG, { device: r.cpuDevice(), dtype: 'float64', seed: 1, initStd: 0.1 });
  const files = new Map([
    ['config.json', new TextEncoder().encode(JSON.stringify(CONFIG))],
    ['model.safetensors', await r.safetensorsBytes(model.stateDict(), { format: 'pt' })],
  ]);
  model.dispose();
  return files;
}

export interface FeedbackRun {
  losses: Record<string, number[]>;
  /** The progress display's updates, "done/total label". */
  progress: string[];
  /** The RPO adapter's files, base64. */
  adapter: Record<string, string>;
  /** Largest |logit difference| between the trained policy and a fresh base with the saved adapter applied. */
  reloadedLogitsDiff: number;
}

const toBase64 = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
};

/** Loads the base from `files`, trains an adapter per loss (4 steps), saves and reloads the RPO one. */
export async function feedbackRun(files: Map<string, Uint8Array>): Promise<FeedbackRun> {
  const device = r.cpuDevice();
  const source = r.memorySource(files, 'picked files');
  const dataset = r.preferenceDatasetFromRecords(FEEDBACK, { name: 'feedback' });
  const losses: Record<string, number[]> = {};
  const progress: string[] = [];
  let policy: r.CausalLM | undefined;
  for (const loss of ['kto', 'rpo'] as const) {
    policy?.dispose();
    policy = await r.loadPretrainedCausalLM(source, { device, dtype: 'float64' });
    r.applyLora(policy, { r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj', 'down_proj'] });
    const history: number[] = [];
    await r.trainPreference({
      policy, tokenizer: byteTokenizer, dataset, loss, lr: 0.05, batchSize: 8, steps: 4, seed: 3, promptEmbedder: textEmbedder,
      log: (m) => history.push(m.loss), progress: (p) => progress.push(`${p.done}/${p.total} ${p.label}`),
    });
    losses[loss] = history;
  }
  const saved = await r.adapterFiles(policy!, { base_model_name_or_path: source.name, fingerprint: await r.baseFingerprint(policy!) });
  const fresh = await r.loadPretrainedCausalLM(source, { device, dtype: 'float64' });
  await r.checkAdapterBase(fresh, r.memorySource(saved), source.name, false);
  await r.loadLoraAdapter(fresh, r.memorySource(saved, 'stored adapter'));
  const ids = r.tensor([[256, 84, 104, 101, 32]], [1, 5], { device, dtype: 'int32' });
  const [a, b] = [Array.from(await r.tidy(() => policy!.forward(ids)).data()), Array.from(await r.tidy(() => fresh.forward(ids)).data())];
  const reloadedLogitsDiff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  for (const m of [policy!, fresh, ids]) m.dispose();
  return { losses, progress, adapter: Object.fromEntries([...saved].map(([k, v]) => [k, toBase64(v)])), reloadedLogitsDiff };
}
