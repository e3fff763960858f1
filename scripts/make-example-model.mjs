// Makes the browser example's model, examples/browser/tiny-model/: a tiny LLaMA (two layers, hidden
// 64) with a word-level tokenizer, taught by supervised fine-tuning to answer "tell me about the
// cat" with short sentences ("the cat is happy and sings all day ."). Half of what it learned to say
// is cheerful and half gloomy, so sampled answers differ and thumbs on them have something to move.
// Run after `npm run build`: node scripts/make-example-model.mjs [out-folder]. Deterministic.
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as r from '../dist/src/index.js';
import { mulberry32 } from '../dist/src/autograd/random.js';

const out = process.argv[2] ?? fileURLToPath(new URL('../examples/browser/tiny-model/', import.meta.url));

const NOUNS = ['cat', 'dog', 'bird', 'sea', 'river', 'city', 'forest', 'garden'];
const CHEERFUL = ['is happy', 'is kind', 'is bright', 'is warm', 'loves the sun', 'sings all day'];
const GLOOMY = ['is sad', 'is cold', 'is dark', 'is angry', 'hates the rain', 'is very loud'];
const PROMPTS = ['tell me about the NOUN', 'what is the NOUN like'];
const SPECIALS = ['<pad>', '<s>', '</s>', '<unk>'];

/** n prompts with an answer each: one or two predicates, of either mood, about the prompt's noun. */
function corpus(n, seed) {
  const rand = mulberry32(seed);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const predicates = [...CHEERFUL, ...GLOOMY];
  return Array.from({ length: n }, () => {
    const noun = pick(NOUNS);
    const first = pick(predicates);
    const second = rand() < 0.5 ? ` and ${pick(predicates.filter((p) => p !== first))}` : '';
    return { prompt: pick(PROMPTS).replace('NOUN', noun), answer: ` the ${noun} ${first}${second} .` };
  });
}

/**
 * tokenizer.json (Hugging Face's format) whose vocabulary is whole words: a WordPiece model over them
 * (so both the `tokenizers` binding and the pure-JS @huggingface/tokenizers read it), lower-cased,
 * split at whitespace and punctuation, decoded with spaces (none before punctuation).
 */
function tokenizerJson(words) {
  const vocab = Object.fromEntries([...SPECIALS, ...words].map((w, id) => [w, id]));
  const added = SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return JSON.stringify({
    version: '1.0', truncation: null, padding: null, added_tokens: added,
    normalizer: { type: 'Lowercase' }, pre_tokenizer: { type: 'Whitespace' }, post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '<unk>', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  }, null, 1);
}

const TOKENIZER_CONFIG = {
  bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false,
  model_max_length: 32, tokenizer_class: 'PreTrainedTokenizerFast',
};

async function main() {
  const train = corpus(640, 1);
  const words = [...new Set([...PROMPTS.join(' ').replace(/NOUN/g, '').split(/\s+/), ...NOUNS, ...[...CHEERFUL, ...GLOOMY].join(' ').split(' '), 'the', 'and', '.'])]
    .filter((w) => w.length > 0).sort();
  await mkdir(out, { recursive: true });
  await writeFile(`${out}/tokenizer.json`, `${tokenizerJson(words)}\n`);
  await writeFile(`${out}/tokenizer_config.json`, `${JSON.stringify(TOKENIZER_CONFIG, null, 2)}\n`);
  const tokenizer = await r.loadTokenizer(out);
  const device = await r.init({ device: 'cpu' });
  const model = r.createCausalLM({
    model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: tokenizer.vocabSize, hidden_size: 64, intermediate_size: 128,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 32, rope_theta: 10000, rms_norm_eps: 1e-5,
    tie_word_embeddings: false, bos_token_id: tokenizer.bosId, eos_token_id: tokenizer.eosId, pad_token_id: tokenizer.padId,
  }, { device, seed: 0 });
  // Loss 'sft' reads only the chosen side; the rejected one is another sentence, to fill the pair.
  const records = train.map((x, i) => ({ prompt: x.prompt, chosen: x.answer, rejected: train[(i + 1) % train.length].answer }));
  const dataset = r.preferenceDatasetFromRecords(records, { name: 'example corpus' });
  const started = performance.now();
  const { history } = await r.trainPreference({
    policy: model, tokenizer, dataset, loss: 'sft', lr: 3e-3, lrScheduler: 'cosine', warmupSteps: 20, batchSize: 32, epochs: 12, seed: 0, progress: true,
  });
  const loss = (h) => (h.reduce((s, m) => s + m.loss, 0) / h.length).toFixed(3);
  process.stdout.write(`sft: ${history.length} steps in ${((performance.now() - started) / 1000).toFixed(0)} s, mean loss ${loss(history.slice(0, 10))} first 10 steps, ${loss(history.slice(-10))} last 10\n`);
  await r.savePretrainedCausalLM(model, out);
  for (const prompt of ['tell me about the cat', 'what is the river like']) {
    const samples = await r.generateText(model, tokenizer, [prompt, prompt, prompt], { maxNewTokens: 12, temperature: 1, seed: 3, stopIds: [tokenizer.eosId] });
    process.stdout.write(`${prompt} →${samples.map((s) => `\n  ${s}`).join('')}\n`);
  }
  model.dispose();
  process.stdout.write(`wrote ${out}\n`);
}

await main();
