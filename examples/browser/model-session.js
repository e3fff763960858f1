// The example's model work, apart from the page: a checkpoint folder loaded from a FileSource (a
// URL, or files the visitor picked), answers sampled from it, a LoRA adapter trained on the thumbs
// (relpo's trainOnFeedback: RPO on unpaired rows, or KTO), answers scored, the adapter as files.
import * as r from '/dist/browser/relpo.js';

export class ModelSession {
  /** @param {r.CausalLM} model @param {r.TextTokenizer} tokenizer @param {string} name */
  constructor(model, tokenizer, name) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.name = name;
    /** A short name for storage: the folder's (or URL's) last part. */
    this.label = name.split('/').filter((p) => p !== '').at(-1)?.replace(/[^\w.-]+/g, '_') ?? 'model';
    /** Training rounds done on this model's adapter. */
    this.rounds = 0;
  }

  /** Loads config.json, the safetensors weights and tokenizer.json (+ tokenizer_config.json) from `source`. */
  static async open(source, device) {
    const [model, tokenizer] = await Promise.allSettled([r.loadPretrainedCausalLM(source, { device }), r.loadTokenizer(source)]);
    // A model loaded beside a tokenizer that failed is freed (its buffers may be the GPU's).
    if (tokenizer.status === 'rejected') {
      if (model.status === 'fulfilled') model.value.dispose();
      throw tokenizer.reason;
    }
    if (model.status === 'rejected') throw model.reason;
    return new ModelSession(model.value, tokenizer.value, source.name);
  }

  /** What the page shows about the model. */
  describe() {
    const c = this.model.config;
    const params = this.model.parameters().reduce((n, p) => n + p.size, 0);
    return `${this.model.architecture}: ${c.num_hidden_layers} layers, hidden ${c.hidden_size}, vocabulary ${this.tokenizer.vocabSize}, ${(params / 1e6).toFixed(2)} M parameters`;
  }

  /**
   * The text the model continues: the question itself, or for a model with a chat template the
   * question as a user turn with the assistant's turn opened. Training sees the same text.
   */
  promptText(question) {
    const template = this.tokenizer.chatTemplate;
    return template ? template.render([{ role: 'user', content: question }], { addGenerationPrompt: true }) : question;
  }

  /** `count` sampled answers (temperature 1; the seed picks them). */
  async sample(question, count, seed, maxNewTokens = 16) {
    const stopIds = this.tokenizer.eosId === undefined ? [] : [this.tokenizer.eosId];
    const prompt = this.promptText(question);
    await this.checkRoom(prompt);
    const answers = await r.generateText(this.model, this.tokenizer, Array(count).fill(prompt), { maxNewTokens, temperature: 1, seed, stopIds });
    return answers.map((a) => a.trim());
  }

  /**
   * Refuses a prompt that fills the model's positions: generateText would answer it with nothing,
   * four empty answers and no reason given.
   */
  async checkRoom(prompt) {
    const limit = this.model.config.max_position_embeddings;
    const ids = await this.tokenizer.encode(prompt);
    const tokens = ids.length + (this.tokenizer.addBos && ids[0] !== this.tokenizer.bosId ? 1 : 0); // generateText adds BOS so
    if (typeof limit === 'number' && tokens >= limit) {
      const how = this.tokenizer.chatTemplate ? ' as a chat turn (the tokenizer\'s chat template)' : '';
      throw new Error(`the question takes ${tokens} tokens${how}, and this model reads at most ${limit} (max_position_embeddings in config.json): ask something shorter`);
    }
  }

  /** log π(answer | question) of each {question, answer}. */
  score(rows) {
    return r.completionLogprobs(this.model, this.tokenizer, rows.map((x) => ({ prompt: this.promptText(x.question), completion: x.answer })));
  }

  /**
   * Trains the adapter (made on the first round, trained further on later ones) on thumbs
   * [{question, answer, liked}]; onStep gets each step's metrics.
   */
  async train(feedback, { loss, steps, lr, beta, sftWeight }, onStep, signal) {
    const result = await r.trainOnFeedback({
      policy: this.model, tokenizer: this.tokenizer, loss, steps, lr, lossConfig: { beta }, sftWeight,
      feedback: feedback.map((f) => ({ prompt: this.promptText(f.question), completion: f.answer, liked: f.liked })),
      log: onStep, ...(signal ? { signal } : {}),
    });
    this.rounds++;
    return result;
  }

  /** The adapter in PEFT's format (adapter_config.json, adapter_model.safetensors) and the record of its base, as bytes. */
  async adapterFiles() {
    return r.adapterFiles(this.model, { base_model_name_or_path: this.name, fingerprint: await r.baseFingerprint(this.model) });
  }

  dispose() {
    this.model.dispose();
  }
}
