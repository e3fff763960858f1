// The browser example (examples/browser/) in headless Chromium on WebGPU, driven as a visitor would:
// the shipped model loads, answers are generated and thumbed by their mood (cheerful 👍, gloomy 👎),
// an adapter is trained with RPO, and the page answers again. Checked: the loss falls, the 👍
// answers' log-probs rise and the 👎 ones' fall, and the page's log-probs before training are
// Node's (CPU device) for the same rows.
// RELPO_EXAMPLE_SCREENSHOT=docs/images/browser-example.png saves the page after training (README's picture).
import test from 'ava';
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
