// The browser example (examples/browser/) in headless Chromium on WebGPU, driven as a visitor would:
// the shipped model loads, answers are generated and thumbed by their mood (cheerful 👍, gloomy 👎),
// an adapter is trained with RPO, and the page answers again. Checked: the loss falls, the 👍
// answers' log-probs rise and the 👎 ones' fall, and the page's log-probs before training are
// Node's (CPU device) for the same rows.
// RELPO_EXAMPLE_SCREENSHOT=docs/images/browser-example.png saves the page after training (README's picture).
import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as r from '../../src/index.js';
import { cpu } from '../helpers/devices.js';
import { openBrowser } from '../helpers/browser.js';

const MODEL = fileURLToPath(new URL('../../../examples/browser/tiny-model/', import.meta.url));
const CHEERFUL = /happy|kind|bright|warm|loves|sings/;
const GLOOMY = /sad|cold|dark|angry|hates|loud/;
const QUESTIONS = ['tell me about the cat', 'what is the dog like', 'tell me about the sea'];
const STEPS = 10;
const browser = await openBrowser(test);

interface Row {
  question: string;
  liked: boolean;
  answer: string;
  before: number;
  after: number;
}

// The page's side is written as source text: relpo compiles without the DOM's types.
const text = (selector: string) => `document.querySelector(${JSON.stringify(selector)}).textContent`;

browser.test(`the example page: load, generate, thumbs, train with RPO, generate again${browser.note}`, async (t) => {
  if (!browser.page || !browser.session) return t.fail(browser.missing!);
  const { page, server, errors } = browser.session;
  const timings: string[] = [];
  let clock = performance.now();
  const lap = (what: string) => {
    timings.push(`${what} ${((performance.now() - clock) / 1000).toFixed(1)} s`);
    clock = performance.now();
  };
  await page.setViewport({ width: 960, height: 1200 });
  await page.goto(`${server.url}/examples/browser/index.html`);
  await page.waitForFunction('document.body.dataset.ready === "true"', { timeout: 120_000 });
  lap('device and model');
  t.deepEqual(errors, []);
  t.regex(await page.evaluate(text('#device')) as string, /swiftshader/i);
  t.regex(await page.evaluate(text('#model-status')) as string, /LlamaForCausalLM: 2 layers/);

  // Ask each question; thumb every answer of one mood.
  for (const question of QUESTIONS) {
    const before = await page.evaluate(text('#samples-title'));
    await page.evaluate(`document.querySelector('#question').value = ${JSON.stringify(question)}`);
    await page.click('#generate');
    await page.waitForFunction(`${text('#samples-title')} !== ${JSON.stringify(before)} && !document.querySelector('#generate').disabled`, { timeout: 120_000 });
    timings.push(await page.evaluate(text('#samples-title')) as string);
    const answers = await page.evaluate(`[...document.querySelectorAll('#samples li .text')].map((e) => e.textContent)`) as string[];
    t.is(answers.length, 4);
    for (const [i, a] of answers.entries()) {
      if (CHEERFUL.test(a) !== GLOOMY.test(a)) await page.click(`#samples li:nth-child(${i + 1}) ${CHEERFUL.test(a) ? '.up' : '.down'}`);
    }
  }
  lap(`${QUESTIONS.length} × 4 answers`);
  t.regex(await page.evaluate(text('#feedback-count')) as string, /ready to train/);

  await page.evaluate(`document.querySelector('#steps').value = '${STEPS}'`);
  await page.click('#train');
  await page.waitForFunction(`!document.querySelector('#results').hidden && !document.querySelector('#train').disabled`, { timeout: 300_000 });
  lap(`${STEPS} RPO steps, scoring and 4 answers`);
  t.deepEqual(errors, []);
  const losses = JSON.parse(await page.evaluate(`document.querySelector('#progress-text').dataset.losses`) as string) as number[];
  t.is(losses.length, STEPS);
  t.true(losses[STEPS - 1] < losses[0], `loss ${losses[0]} → ${losses[STEPS - 1]}`);
  const rows = await page.evaluate(`[...document.querySelectorAll('#results tbody tr')].map((tr) => ({
    question: tr.dataset.question, liked: tr.dataset.liked === 'true', answer: tr.children[1].textContent, before: Number(tr.dataset.before), after: Number(tr.dataset.after) }))`) as Row[];
  t.true(rows.some((x) => x.liked) && rows.some((x) => !x.liked));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const moved = (liked: boolean) => mean(rows.filter((x) => x.liked === liked).map((x) => x.after - x.before));
  for (const x of rows) t.log(`${x.liked ? '👍' : '👎'} ${x.question} → ${x.answer}: ${x.before.toFixed(3)} → ${x.after.toFixed(3)}`);
  t.true(moved(true) > 0, `👍 answers moved ${moved(true)}`);
  t.true(moved(false) < 0, `👎 answers moved ${moved(false)}`);

  // The page's scores before training are the model's: Node's CPU device scores the same rows.
  const model = await r.loadPretrainedCausalLM(MODEL, { device: cpu });
  const node = await r.completionLogprobs(model, await r.loadTokenizer(MODEL), rows.map((x) => ({ prompt: x.question, completion: x.answer })));
  model.dispose();
  node.forEach((v, i) => t.true(Math.abs(v - rows[i].before) < 1e-4 * Math.max(1, Math.abs(v)), `${rows[i].answer}: Node ${v}, page ${rows[i].before}`));

  t.regex(await page.evaluate(text('#samples-title')) as string, /After training round 1/);
  t.is(await page.evaluate(`document.querySelectorAll('#samples li').length`), 4);
  t.false(await page.evaluate(`document.querySelector('#download').disabled`) as boolean);
  // The adapter saved to the origin-private file system, as PEFT's files with the base's record.
  await page.click('#save-storage');
  await page.waitForFunction(`/Saved|Error/.test(${text('#storage-status')})`, { timeout: 60_000 });
  t.regex(await page.evaluate(text('#storage-status')) as string, /^Saved to this site's private storage \(OPFS\) as relpo-example\/tiny-model-round-1\//);
  const stored = await page.evaluate(`(async () => {
    let dir = await navigator.storage.getDirectory();
    for (const part of ${JSON.stringify('relpo-example')}.split('/')) dir = await dir.getDirectoryHandle(part);
    const [[, round]] = await Array.fromAsync(dir.entries());
    return (await Array.fromAsync(round.keys())).sort();
  })()`);
  t.deepEqual(stored, ['adapter_config.json', 'adapter_model.safetensors', 'relpo_base.json']);
  timings.push(await page.evaluate(text('#progress-text')) as string, await page.evaluate(text('#samples-title')) as string);
  t.log(timings.join('; '));
  const shot = process.env.RELPO_EXAMPLE_SCREENSHOT;
  if (shot) await page.screenshot({ path: shot, fullPage: true });

  // A second round stopped from the page: the step under way ends, the adapter keeps the steps done.
  await page.evaluate(`document.querySelector('#steps').value = '200'`);
  await page.click('#train');
  await page.waitForFunction(`/^step [1-9]/.test(${text('#progress-text')})`, { timeout: 120_000 });
  await page.click('#stop');
  await page.waitForFunction(`!document.querySelector('#train').disabled && document.querySelector('#stop').hidden`, { timeout: 120_000 });
  t.deepEqual(errors, []);
  const stopped = /stopped after (\d+) of 200 steps/.exec(await page.evaluate(text('#progress-text')) as string);
  t.truthy(stopped, await page.evaluate(text('#progress-text')) as string);
  t.true(Number(stopped![1]) >= 1 && Number(stopped![1]) < 200);
  t.regex(await page.evaluate(text('#samples-title')) as string, /After training round 2/);
});

browser.test(`the example page without navigator.gpu: it says so, answers on the CPU device, and opens a picked folder${browser.note}`, async (t) => {
  if (!browser.session) return t.fail(browser.missing!);
  const page = await browser.session.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.evaluateOnNewDocument('delete Navigator.prototype.gpu');
    await page.goto(`${browser.session.server.url}/examples/browser/index.html`);
    await page.waitForFunction('document.body.dataset.ready === "true"', { timeout: 120_000 });
    t.false(await page.evaluate(`document.querySelector('#gpu-warning').hidden`) as boolean);
    t.regex(await page.evaluate(text('#gpu-warning')) as string, /^This browser has no WebGPU \(navigator\.gpu is missing\): relpo runs on its CPU reference kernels instead/);
    t.regex(await page.evaluate(text('#device')) as string, /^Device: cpu/);
    await page.click('#generate');
    await page.waitForFunction(`document.querySelectorAll('#samples li').length === 4 && !document.querySelector('#generate').disabled`, { timeout: 120_000 });
    const answers = await page.evaluate(`[...document.querySelectorAll('#samples li .text')].map((e) => e.textContent)`) as string[];
    t.true(answers.every((a) => a.startsWith('the cat ')), answers.join(' | '));
    // A folder picked from this computer: the same model's files, through the folder input.
    const input = await page.$('#folder-input');
    await input!.uploadFile(MODEL.replace(/\/$/, ''));
    // (Opening a model clears the answers; the buttons come back when it has loaded.)
    await page.waitForFunction(`document.querySelectorAll('#samples li').length === 0 && !document.querySelector('#generate').disabled`, { timeout: 60_000 });
    t.regex(await page.evaluate(text('#model-status')) as string, /^LlamaForCausalLM: 2 layers, hidden 64, vocabulary 38, .* · from tiny-model · loaded/);
    await page.click('#generate');
    await page.waitForFunction(`document.querySelectorAll('#samples li').length === 4 && !document.querySelector('#generate').disabled`, { timeout: 120_000 });
    t.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

browser.test(`the example page on a picked folder with a chat template: the page scores and trains on the template's text, and its Download gives the adapter${browser.note}`, async (t) => {
  if (!browser.session) return t.fail(browser.missing!);
  // The shipped model's files with zephyr's chat template (as transformers renders it: test/io/golden/chat.json).
  const chat = JSON.parse(readFileSync(new URL('../../../test/io/golden/chat.json', import.meta.url), 'utf8')) as { templates: Record<string, string> };
  const dir = mkdtempSync(join(tmpdir(), 'relpo-example-chat-'));
  const folder = join(dir, 'chat-model');
  const downloads = join(dir, 'downloads');
  cpSync(MODEL, folder, { recursive: true });
  mkdirSync(downloads);
  const tokenizerConfig = JSON.parse(readFileSync(join(folder, 'tokenizer_config.json'), 'utf8')) as object;
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, chat_template: chat.templates.zephyr }));
  const page = await browser.session.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Downloads go to a temporary folder; the browser says when one has finished.
  const cdp = await browser.session.browser.target().createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, eventsEnabled: true });
  const downloaded = new Promise<void>((resolve, reject) => cdp.on('Browser.downloadProgress', (e) => {
    if (e.state === 'completed') resolve();
    else if (e.state === 'canceled') reject(new Error('the download was canceled'));
  }));
  try {
    await page.goto(`${browser.session.server.url}/examples/browser/index.html`);
    await page.waitForFunction('document.body.dataset.ready === "true"', { timeout: 120_000 });
    // Folders picked through the model menu, as a visitor would: first one that is no checkpoint.
    const pick = async (path: string | null) => {
      const [chooser] = await Promise.all([page.waitForFileChooser({ timeout: 10_000 }), page.select('#model-choice', 'folder')]);
      await (path === null ? chooser.cancel() : chooser.accept([path]));
    };
    const idle = `!document.querySelector('#model-choice').disabled`;
    const notModel = join(dir, 'not-a-model');
    mkdirSync(notModel);
    writeFileSync(join(notModel, 'notes.txt'), 'no checkpoint here\n');
    await pick(notModel);
    await page.waitForFunction(`/^Error/.test(${text('#model-status')}) && ${idle}`, { timeout: 60_000 });
    t.regex(await page.evaluate(text('#model-status')) as string, /not-a-model(\/config\.json|: no tokenizer\.json)/);
    t.is(await page.evaluate(`document.querySelector('#model-choice').value`), 'none', 'the menu says no model is loaded');
    t.deepEqual(await page.evaluate(`['generate', 'train', 'download', 'save-storage'].filter((id) => !document.getElementById(id).disabled)`), []);
    // Choosing "a folder…" again opens the picker again; cancelled, the menu still says what is loaded.
    await pick(null);
    await page.waitForFunction(`document.querySelector('#model-choice').value === 'none'`, { timeout: 10_000 });
    await pick(folder);
    await page.waitForFunction(`/from chat-model/.test(${text('#model-status')}) && !document.querySelector('#generate').disabled`, { timeout: 60_000 });
    t.is(await page.evaluate(`document.querySelector('#model-choice').selectedOptions[0].textContent`), 'folder: chat-model');
    // A question the model has no room to answer is refused with the reason, under the question.
    const status = await page.evaluate(text('#model-status'));
    const long = 'tell me about the cat '.repeat(6);
    const tokenizer = await r.loadTokenizer(folder);
    const longIds = await tokenizer.encode(tokenizer.chatTemplate!.render([{ role: 'user', content: long }], { addGenerationPrompt: true }));
    await page.evaluate(`document.querySelector('#question').value = ${JSON.stringify(long)}`);
    await page.click('#generate');
    await page.waitForFunction(`/^Error/.test(${text('#ask-status')}) && !document.querySelector('#generate').disabled`, { timeout: 60_000 });
    t.is(await page.evaluate(text('#ask-status')), `Error: the question takes ${longIds.length + 1} tokens as a chat turn (the tokenizer's chat template), and this model reads at most 32 (max_position_embeddings in config.json): ask something shorter`);
    t.is(await page.evaluate(text('#model-status')), status, 'the model is still described');
    t.is(await page.evaluate(`document.querySelectorAll('#samples li').length`), 0);
    await page.evaluate(`document.querySelector('#question').value = 'tell me about the cat'`);
    t.true(await page.evaluate(`document.querySelector('#download').disabled`) as boolean, 'nothing to download before training');
    // Two answers to one question, one thumbed up and one down (another seed where the four agree).
    let answers: string[] = [];
    for (let seed = 1; new Set(answers).size < 2 && seed <= 3; seed++) {
      await page.click('#generate');
      await page.waitForFunction(`${text('#samples-title')}.includes('seed ${seed} ') && !document.querySelector('#generate').disabled`, { timeout: 120_000 });
      answers = await page.evaluate(`[...document.querySelectorAll('#samples li .text')].map((e) => e.textContent)`) as string[];
    }
    t.is(await page.evaluate(text('#ask-status')), '', 'the error went with the next answers');
    const down = answers.findIndex((a) => a !== answers[0]);
    t.true(down > 0, answers.join(' | '));
    await page.click('#samples li:nth-child(1) .up');
    await page.click(`#samples li:nth-child(${down + 1}) .down`);
    await page.evaluate(`document.querySelector('#steps').value = '2'`);
    await page.click('#train');
    await page.waitForFunction(`!document.querySelector('#results').hidden && !document.querySelector('#train').disabled`, { timeout: 300_000 });
    t.deepEqual(errors, []);
    t.is((JSON.parse(await page.evaluate(`document.querySelector('#progress-text').dataset.losses`) as string) as number[]).length, 2);
    const rows = await page.evaluate(`[...document.querySelectorAll('#results tbody tr')].map((tr) => ({
      question: tr.dataset.question, liked: tr.dataset.liked === 'true', answer: tr.children[1].textContent, before: Number(tr.dataset.before), after: Number(tr.dataset.after) }))`) as Row[];
    t.is(rows.length, 2);

    // Node renders the question with the folder's template and scores the answers on it: the page's before.
    t.truthy(tokenizer.chatTemplate);
    const prompts = rows.map((x) => tokenizer.chatTemplate!.render([{ role: 'user', content: x.question }], { addGenerationPrompt: true }));
    t.is(prompts[0], `<|user|>\n${rows[0].question}</s>\n<|assistant|>\n`);
    const model = await r.loadPretrainedCausalLM(folder, { device: cpu });
    const close = (a: number[], b: number[], what: string) => a.forEach((v, i) => t.true(Math.abs(v - b[i]) < 1e-4 * Math.max(1, Math.abs(v)), `${what} ${rows[i].answer}: Node ${v}, page ${b[i]}`));
    const score = () => r.completionLogprobs(model, tokenizer, rows.map((x, i) => ({ prompt: prompts[i], completion: x.answer })));
    close(await score(), rows.map((x) => x.before), 'before');
    // (The bare question scores otherwise: the template is what the page used.)
    const bare = await r.completionLogprobs(model, tokenizer, rows.map((x) => ({ prompt: x.question, completion: x.answer })));
    for (const [i, x] of rows.entries()) t.log(`${x.liked ? '👍' : '👎'} ${x.answer}: page ${x.before.toFixed(4)} → ${x.after.toFixed(4)}; Node without the template ${bare[i].toFixed(4)}`);
    t.true(bare.some((v, i) => Math.abs(v - rows[i].before) > 1e-2), `bare ${bare} vs page ${rows.map((x) => x.before)}`);

    // Download: adapter_model.safetensors, the same bytes as the copy saved to browser storage, and
    // with its adapter_config.json it gives Node's model the page's after-training scores.
    await page.click('#save-storage');
    await page.waitForFunction(`/Saved|Error/.test(${text('#storage-status')})`, { timeout: 60_000 });
    t.regex(await page.evaluate(text('#storage-status')) as string, /as relpo-example\/chat-model-round-1\//);
    await page.click('#download');
    await downloaded;
    t.regex(await page.evaluate(text('#storage-status')) as string, /^adapter_model\.safetensors downloaded/);
    const stored = await page.evaluate(`(async () => {
      let dir = await navigator.storage.getDirectory();
      for (const part of ['relpo-example', 'chat-model-round-1']) dir = await dir.getDirectoryHandle(part);
      const file = async (name) => new Uint8Array(await (await (await dir.getFileHandle(name)).getFile()).arrayBuffer());
      return { config: new TextDecoder().decode(await file('adapter_config.json')), weights: Array.from(await file('adapter_model.safetensors')) };
    })()`) as { config: string; weights: number[] };
    const bytes = readFileSync(join(downloads, 'adapter_model.safetensors'));
    t.deepEqual([...bytes], stored.weights);
    const tensors = await r.loadSafetensors(join(downloads, 'adapter_model.safetensors'), { device: cpu });
    t.is(tensors.size, 2 * 2 * JSON.parse(stored.config).target_modules.length, [...tensors.keys()].join(', '));
    const trainedB = [...tensors].filter(([name]) => name.endsWith('lora_B.weight'));
    t.true((await Promise.all(trainedB.map(async ([, b]) => (await b.data()).some((v) => v !== 0)))).some(Boolean), 'training moved lora_B from zero');
    for (const x of tensors.values()) x.dispose();
    const adapter = join(dir, 'adapter');
    mkdirSync(adapter);
    writeFileSync(join(adapter, 'adapter_config.json'), stored.config);
    writeFileSync(join(adapter, 'adapter_model.safetensors'), bytes);
    await r.loadLoraAdapter(model, adapter);
    close(await score(), rows.map((x) => x.after), 'after');
    model.dispose();
    t.deepEqual(errors, []);
  } finally {
    await cdp.detach();
    await page.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
