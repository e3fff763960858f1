// `relpo demo`: preference learning end to end on a toy problem, with every piece of the framework
// in the loop (tensors, autograd, kernels, a loss plugin) and a check that the chosen device's
// gradients agree with the float64 CPU reference.
//
// The toy: P prompts in a few topics, each with K candidate answers. A hidden reward prefers some
// answer indices per topic. The "policy" is a linear map from a prompt's embedding to logits over
// its K answers, log π(k | p) = logSoftmax(e_p W)[k]; the reference is W at the start. Preference
// pairs (p, better k, worse k) are sampled from the hidden reward; we train W with the chosen loss
// and watch held-out preference accuracy rise.
import * as r from '../index.js';
import { mulberry32 } from '../autograd/random.js';
import { ProgressBar } from '../io/progress.js';
import { type FlagSpec, type Flags } from './args.js';

export const DEMO_FLAGS: FlagSpec[] = [
  { name: 'loss', help: 'preference loss (relpo losses lists them)', default: 'rpo' },
  { name: 'steps', help: 'optimizer steps', default: 150 },
  { name: 'batch', help: 'preference pairs per step', default: 16 },
  { name: 'lr', help: 'learning rate (plain SGD)', default: 20 },
  { name: 'seed', help: 'random seed', default: 1 },
  { name: 'device', help: 'webgpu, cpu or auto (RELPO_DEVICE)', default: '', check: { choices: ['', 'webgpu', 'cpu', 'auto'] } },
];

const TOPICS = 4, PROMPTS = 32, ANSWERS = 6, DIM = 8;

interface Toy {
  embeddings: number[][];
  /** [prompt, better answer, worse answer] */
  train: [number, number, number][];
  heldOut: [number, number, number][];
}

function makeToy(seed: number): Toy {
  const rand = mulberry32(seed >>> 0 || 1);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centres = Array.from({ length: TOPICS }, () => Array.from({ length: DIM }, gauss));
  const taste = Array.from({ length: TOPICS }, () => Array.from({ length: ANSWERS }, gauss));
  const embeddings: number[][] = [];
  const reward: number[][] = [];
  for (let p = 0; p < PROMPTS; p++) {
    const topic = p % TOPICS;
    embeddings.push(centres[topic].map((c) => c + 0.3 * gauss()));
    reward.push(taste[topic].map((v) => v + 0.3 * gauss()));
  }
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < 600; i++) {
    const p = Math.floor(rand() * PROMPTS);
    const a = Math.floor(rand() * ANSWERS);
    let b = Math.floor(rand() * (ANSWERS - 1));
    if (b >= a) b++;
    pairs.push(reward[p][a] > reward[p][b] ? [p, a, b] : [p, b, a]);
  }
  return { embeddings, train: pairs.slice(0, 500), heldOut: pairs.slice(500) };
}

/** log π(k | p) for each (p, k): rows of e·W, log-softmax over answers, pick k. */
function sequenceLogps(E: r.Tensor, W: r.Tensor, prompts: r.Tensor, answers: r.Tensor): r.Tensor {
  const logits = r.matmul(r.indexSelect(E, 0, prompts), W);
  return r.reshape(r.gather(r.logSoftmax(logits, -1), 1, r.reshape(answers, [-1, 1])), [-1]);
}

function batchTensors(device: r.Device, pairs: [number, number, number][]) {
  const opt = { device, dtype: 'int32' as const };
  return {
    prompts: r.tensor(pairs.map((x) => x[0]), [pairs.length], opt),
    chosen: r.tensor(pairs.map((x) => x[1]), [pairs.length], opt),
    rejected: r.tensor(pairs.map((x) => x[2]), [pairs.length], opt),
  };
}

/** The loss of one batch of pairs, with everything the loss asks for. */
function lossOf(lossName: string, E: r.Tensor, W: r.Tensor, W0: r.Tensor, pairs: [number, number, number][]) {
  const loss = r.getLoss(lossName);
  if (!loss.data.paired) throw new Error(`relpo demo: loss '${lossName}' does not take paired data; the demo's data is paired (${r.lossesThat((l) => l.data.paired)} do)`);
  const b = batchTensors(E.device, pairs);
  const side = (answers: r.Tensor) => ({
    policyLogps: sequenceLogps(E, W, b.prompts, answers),
    refLogps: r.noGrad(() => sequenceLogps(E, W0, b.prompts, answers)),
    tokenCounts: r.full([pairs.length], 1, { device: E.device, dtype: W.dtype }),
    promptEmbeddings: r.indexSelect(E, 0, b.prompts),
    promptIds: pairs.map((x) => x[0]),
  });
  // KTO's KL estimate uses mismatched pairs: prompt i with the chosen answer of pair i+1.
  const shifted = r.concat([r.narrow(b.chosen, 0, 1, pairs.length - 1), r.narrow(b.chosen, 0, 0, 1)]);
  const kl = loss.needs.klEstimate
    ? { policyLogps: sequenceLogps(E, W, b.prompts, shifted), refLogps: r.noGrad(() => sequenceLogps(E, W0, b.prompts, shifted)) }
    : undefined;
  return loss.compute({ paired: true, chosen: side(b.chosen), rejected: side(b.rejected), kl });
}

async function accuracy(E: r.Tensor, W: r.Tensor, pairs: [number, number, number][]): Promise<number> {
  const margin = r.tidy(() => {
    const b = batchTensors(E.device, pairs);
    return r.noGrad(() => r.mean(r.greater(sequenceLogps(E, W, b.prompts, b.chosen), sequenceLogps(E, W, b.prompts, b.rejected))));
  });
  const v = await margin.item();
  margin.dispose();
  return v;
}

/** Max |a − b| / max |b| between the first-step gradient on `device` and on the float64 CPU. */
async function gradientAgreement(lossName: string, toy: Toy, W0v: number[], device: r.Device): Promise<number> {
  const grads: Float64Array[] = [];
  for (const [dev, dtype] of [[r.cpuDevice(), 'float64'], [device, 'float32']] as const) {
    const E = r.tensor(toy.embeddings, undefined, { device: dev, dtype });
    const W = r.tensor(W0v, [DIM, ANSWERS], { device: dev, dtype, requiresGrad: true });
    // Start away from the reference so that every term of the loss is non-trivial.
    const Wref = r.tensor(W0v.map((v, i) => v + 0.05 * Math.sin(i)), [DIM, ANSWERS], { device: dev, dtype });
    r.tidy(() => lossOf(lossName, E, W, Wref, toy.train.slice(0, 16)).loss.backward());
    grads.push(Float64Array.from(await W.grad!.data()));
    for (const t of [E, W, Wref]) t.dispose();
  }
  const [ref, got] = grads;
  const scale = Math.max(...ref.map(Math.abs));
  return Math.max(...got.map((g, i) => Math.abs(g - ref[i]))) / scale;
}

export async function runDemo(flags: Flags): Promise<void> {
  const device = await r.init(flags.device ? { device: flags.device as r.DeviceChoice } : {});
  const lossName = String(flags.loss);
  const steps = Number(flags.steps), batch = Number(flags.batch), lr = Number(flags.lr);
  const toy = makeToy(Number(flags.seed));
  r.manualSeed(Number(flags.seed));
  const W0v = Array.from(await r.randn([DIM, ANSWERS], { device: r.cpuDevice() }).data(), (v) => 0.1 * v);

  const E = r.tensor(toy.embeddings, undefined, { device });
  const W0 = r.tensor(W0v, [DIM, ANSWERS], { device });
  let W = r.tensor(W0v, [DIM, ANSWERS], { device, requiresGrad: true });
  const before = await accuracy(E, W, toy.heldOut);
  process.stdout.write(`toy preference data: ${PROMPTS} prompts in ${TOPICS} topics, ${ANSWERS} answers each, ${toy.train.length} training pairs\n`);
  process.stdout.write(`loss: ${lossName} (${r.getLoss(lossName).description ?? ''})\n`);

  const bar = new ProgressBar(steps, 'train');
  let last = NaN;
  for (let step = 0; step < steps; step++) {
    const start = (step * batch) % (toy.train.length - batch);
    const lossT = r.tidy(() => {
      const { loss } = lossOf(lossName, E, W, W0, toy.train.slice(start, start + batch));
      loss.backward();
      return loss;
    });
    const next = r.tidy(() => r.noGrad(() => r.sub(W, r.mul(W.grad!, lr))));
    W.dispose();
    W = r.keep(next);
    W.requiresGrad = true;
    if (step % 10 === 0 || step === steps - 1) {
      last = await lossT.item();
      if (!Number.isFinite(last)) throw new Error(`relpo demo: the loss became ${last} at step ${step}; lower --lr`);
    }
    lossT.dispose();
    bar.update(step + 1, `loss=${last.toFixed(4)}`);
  }
  const after = await accuracy(E, W, toy.heldOut);
  process.stdout.write(`held-out preference accuracy: ${(100 * before).toFixed(1)}% before, ${(100 * after).toFixed(1)}% after ${steps} steps (final loss ${last.toFixed(4)})\n`);

  if (device.kind !== 'cpu') {
    const err = await gradientAgreement(lossName, toy, W0v, device);
    const ok = err < 1e-4;
    process.stdout.write(`gradient check, ${device.kind} (float32) vs cpu (float64): max relative difference ${err.toExponential(2)} ${ok ? 'ok' : 'TOO LARGE'}\n`);
    if (!ok) process.exitCode = 1;
  }
  for (const t of [E, W0, W]) t.dispose();
}
