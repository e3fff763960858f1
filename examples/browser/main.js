// The page: pick a model, ask, thumb the answers, train, ask again. The model work is in
// model-session.js; this file keeps the feedback and the page in step.
import * as r from '/dist/browser/relpo.js';
import { ModelSession } from './model-session.js';

const TINY_MODEL = new URL('./tiny-model/', import.meta.url).href;
const SAMPLES = 4;
const $ = (id) => document.getElementById(id);
// Thumbs drawn as SVG, so they show without an emoji font (headless Chromium, bare Linux desktops).
const THUMB = '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z"/></svg>';
const thumbIcon = (up) => `<span class="thumb ${up ? 'up-icon' : 'down-icon'}">${THUMB}</span>`;

/** The page's state: the model, every thumb given so far, and the seed of the latest answers. */
const state = { device: null, session: null, feedback: [], question: '', seed: 0, busy: false, model: 'none' };

function setBusy(busy) {
  state.busy = busy;
  const ready = !busy && state.session !== null;
  $('generate').disabled = !ready;
  $('train').disabled = !ready || !hasBothThumbs();
  $('download').disabled = $('save-storage').disabled = !ready || state.session.rounds === 0;
  $('model-choice').disabled = busy;
  if (!busy) showModelChoice();
}

/**
 * The model menu shows the model loaded ('tiny', 'picked' with the folder's name, or 'none'), never
 * "a folder…": so choosing that again opens the picker again, and a cancelled pick changes nothing.
 */
function showModelChoice() {
  const picked = $('model-choice').querySelector('option[value=picked]');
  picked.hidden = state.model !== 'picked';
  if (state.model === 'picked') picked.textContent = `folder: ${state.session.label}`;
  $('model-choice').value = state.model;
}

const hasBothThumbs = () => state.feedback.some((f) => f.liked) && state.feedback.some((f) => !f.liked);

/** Runs a piece of work with the buttons off; an error is shown where `statusId` says. */
async function work(statusId, fn) {
  setBusy(true);
  if ($(statusId).classList.contains('warning')) $(statusId).textContent = ''; // the last error, now stale
  $(statusId).classList.remove('warning');
  try {
    await fn();
  } catch (e) {
    console.error(e);
    $(statusId).textContent = `Error: ${e.message}`;
    $(statusId).classList.add('warning');
  } finally {
    setBusy(false);
  }
}

async function startDevice() {
  if (!navigator.gpu) {
    $('gpu-warning').hidden = false;
    $('gpu-warning').textContent = 'This browser has no WebGPU (navigator.gpu is missing): relpo runs on its CPU reference kernels instead, more slowly than a GPU would. '
      + 'Chrome or Edge 113+ have WebGPU; on Linux start Chromium with --enable-unsafe-webgpu --enable-features=Vulkan.';
  }
  state.device = await r.init({ device: 'auto', quiet: true });
  if (navigator.gpu && state.device.kind === 'cpu') {
    $('gpu-warning').hidden = false;
    $('gpu-warning').textContent = 'WebGPU is here but gave no adapter: relpo runs on its CPU reference kernels instead, more slowly than a GPU would.';
  }
  $('device').textContent = `Device: ${state.device.description}`;
}

/** Opens `source` as the page's model; `choice` is its entry in the model menu ('tiny' or 'picked'). */
async function openModel(source, choice) {
  $('model-status').textContent = `Loading ${source.name}…`;
  state.session?.dispose();
  state.session = null;
  state.model = 'none';
  state.feedback = [];
  renderAnswers([]);
  renderFeedbackCount();
  $('before-box').hidden = $('results').hidden = true;
  const started = performance.now();
  state.session = await ModelSession.open(source, state.device);
  state.model = choice;
  const from = source.name.replace(/^https?:\/\/[^/]+/, ''); // a URL on this site: its path
  $('model-status').textContent = `${state.session.describe()} · from ${from} · loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`;
}

/** A FileSource over the files of a picked folder (names relative to the folder). */
function folderSource(files) {
  const byName = new Map();
  for (const f of files) byName.set(f.webkitRelativePath.split('/').slice(1).join('/') || f.name, f);
  const folder = files[0]?.webkitRelativePath.split('/')[0] || 'picked files';
  return r.memorySource(byName, folder);
}

async function generate(question, seed) {
  const started = performance.now();
  const answers = await state.session.sample(question, SAMPLES, seed);
  state.question = question;
  state.seed = seed;
  const round = state.session.rounds;
  $('samples-title').hidden = false;
  $('samples-title').textContent = `${round === 0 ? 'The model as loaded' : `After training round ${round}`} · seed ${seed} · ${((performance.now() - started) / 1000).toFixed(1)} s`;
  renderAnswers(answers.map((answer) => ({ question, answer })));
}

/** The thumb given to this question and answer, if any. */
const thumbOf = (question, answer) => state.feedback.find((f) => f.question === question && f.answer === answer);

function renderAnswers(items, list = $('samples'), thumbs = true) {
  list.replaceChildren(...items.map(({ question, answer }) => {
    const li = document.createElement('li');
    const text = Object.assign(document.createElement('span'), { className: 'text', textContent: answer || '(empty)' });
    li.dataset.answer = answer;
    li.append(text);
    const given = thumbOf(question, answer);
    if (given) li.dataset.liked = String(given.liked);
    if (thumbs) {
      for (const [cls, label, liked] of [['up', 'a good answer (thumbs up)', true], ['down', 'a bad answer (thumbs down)', false]]) {
        const b = Object.assign(document.createElement('button'), { className: cls, innerHTML: thumbIcon(liked), title: label });
        b.addEventListener('click', () => thumb(question, answer, liked));
        li.append(b);
      }
    }
    return li;
  }));
}

/** Records (or takes back, on a second click) a thumb, and redraws. */
function thumb(question, answer, liked) {
  const given = thumbOf(question, answer);
  if (given?.liked === liked) state.feedback.splice(state.feedback.indexOf(given), 1);
  else if (given) given.liked = liked;
  else state.feedback.push({ question, answer, liked });
  for (const li of $('samples').children) {
    const f = thumbOf(question, li.dataset.answer);
    if (f) li.dataset.liked = String(f.liked);
    else delete li.dataset.liked;
  }
  renderFeedbackCount();
  setBusy(state.busy);
}

function renderFeedbackCount() {
  const up = state.feedback.filter((f) => f.liked).length;
  const down = state.feedback.length - up;
  $('feedback-count').textContent = state.feedback.length === 0
    ? 'No feedback yet: thumbs up the answers you like, thumbs down the ones you don\'t.'
    : `Feedback: ${up} up, ${down} down${hasBothThumbs() ? ' · ready to train' : ' · training needs at least one of each'}`;
}

async function train() {
  const settings = {
    loss: $('loss').value, steps: Number($('steps').value), lr: Number($('lr').value), beta: Number($('beta').value), sftWeight: Number($('sft-weight').value),
  };
  if (!(Number.isInteger(settings.steps) && settings.steps >= 1)) throw new Error(`steps must be a whole number ≥ 1, got '${$('steps').value}'`);
  if (!(settings.lr > 0)) throw new Error(`the learning rate must be > 0, got '${$('lr').value}'`);
  if (!(settings.beta > 0)) throw new Error(`β must be > 0, got '${$('beta').value}'`);
  if (!(settings.sftWeight >= 0)) throw new Error(`the SFT weight must be ≥ 0, got '${$('sft-weight').value}'`);
  const feedback = state.feedback.slice();
  const before = await state.session.score(feedback);
  const progress = $('progress');
  progress.max = settings.steps;
  progress.value = 0;
  const losses = [];
  const started = performance.now();
  // Stop: the trainer finishes the step under way and returns; the adapter keeps those steps.
  const stop = new AbortController();
  $('stop').onclick = () => {
    stop.abort();
    $('stop').disabled = true;
  };
  $('stop').disabled = false;
  $('stop').hidden = false;
  try {
    await state.session.train(feedback, settings, (m) => {
      losses.push(m.loss);
      progress.value = m.step;
      $('progress-text').textContent = `step ${m.step}/${settings.steps} · loss ${m.loss.toFixed(4)} · ${((performance.now() - started) / 1000).toFixed(1)} s`;
    }, stop.signal);
  } finally {
    $('stop').hidden = true;
  }
  const seconds = (performance.now() - started) / 1000;
  const objective = `${settings.loss.toUpperCase()}${settings.sftWeight > 0 ? ` + ${settings.sftWeight} × SFT` : ''}`;
  const steps = losses.length < settings.steps ? `stopped after ${losses.length} of ${settings.steps} steps` : `${settings.steps} steps`;
  $('progress-text').textContent = losses.length === 0
    ? `${objective} · stopped before the first step ended`
    : `${objective} · ${steps} in ${seconds.toFixed(1)} s · loss ${losses[0].toFixed(4)} → ${losses.at(-1).toFixed(4)}`;
  if (losses.length === 0) return;
  $('progress-text').dataset.losses = JSON.stringify(losses);
  const after = await state.session.score(feedback);
  renderResults(feedback, before, after);
  // The answers before this round stay visible; the same question and seed show what changed.
  renderAnswers([...$('samples').children].map((li) => ({ question: state.question, answer: li.dataset.answer })), $('before-samples'), false);
  $('before-box').hidden = false;
  if (state.question) await generate(state.question, state.seed);
}

function renderResults(feedback, before, after) {
  const rows = feedback.map((f, i) => {
    const tr = document.createElement('tr');
    tr.dataset.question = f.question;
    tr.dataset.liked = String(f.liked);
    tr.dataset.before = String(before[i]);
    tr.dataset.after = String(after[i]);
    // Green where the answer moved the way its thumb asked, red where it did not.
    const moved = (after[i] > before[i]) === f.liked ? 'right-move' : 'wrong-move';
    tr.innerHTML = `<td>${thumbIcon(f.liked)}</td><td></td><td class="num">${before[i].toFixed(3)}</td><td class="num ${moved}">${after[i].toFixed(3)}</td>`;
    tr.children[1].textContent = f.answer;
    return tr;
  });
  $('results').tBodies[0].replaceChildren(...rows);
  $('results').hidden = false;
}

async function download() {
  const files = await state.session.adapterFiles();
  r.downloadBytes(files.get('adapter_model.safetensors'), 'adapter_model.safetensors');
  $('storage-status').textContent = 'adapter_model.safetensors downloaded (its adapter_config.json is saved with "Save to browser storage")';
}

async function saveToStorage() {
  const folder = `relpo-example/${state.session.label}-round-${state.session.rounds}`;
  const files = await state.session.adapterFiles();
  await r.saveFilesToOpfs(folder, files);
  $('storage-status').textContent = `Saved to this site's private storage (OPFS) as ${folder}/ (${[...files.keys()].join(', ')})`;
}

$('ask').addEventListener('submit', (e) => {
  e.preventDefault();
  const question = $('question').value.trim();
  if (question) void work('ask-status', () => generate(question, state.seed + 1));
});
$('train').addEventListener('click', () => void work('progress-text', train));
$('download').addEventListener('click', () => void work('storage-status', download));
$('save-storage').addEventListener('click', () => void work('storage-status', saveToStorage));
$('model-choice').addEventListener('change', () => {
  if ($('model-choice').value === 'folder') $('folder-input').click();
  else void work('model-status', () => openModel(r.urlSource(TINY_MODEL), 'tiny'));
});
$('folder-input').addEventListener('change', () => {
  const files = [...$('folder-input').files];
  $('folder-input').value = ''; // so that picking the same folder again loads it again
  if (files.length > 0) void work('model-status', () => openModel(folderSource(files), 'picked'));
  else showModelChoice();
});
$('folder-input').addEventListener('cancel', showModelChoice);

await work('device', startDevice);
await work('model-status', () => openModel(r.urlSource(TINY_MODEL), 'tiny'));
document.body.dataset.ready = 'true';
