// Sampling speed on the host: pickToken (a bounded heap selects the head of the order it needs)
// against pickTokenBySorting (the reference: the whole vocabulary sorted per token), side by side
// in the same run, alternating, medians; both pick the same tokens (checked here).
//
//   node dist/bench/sampling.js [--vocab 32000,128256] [--picks 50] [--repeats 5]
import { mulberry32 } from '../src/autograd/random.js';
import { pickToken, pickTokenBySorting, type SamplingOptions } from '../src/eval/sampling.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
if (args.includes('--help')) {
  console.log('usage: node dist/bench/sampling.js [--vocab 32000,128256] [--picks 50] [--repeats 5]\n\nms per sampled token on the host: heap selection against sorting the vocabulary, same run.');
  process.exit(0);
}
const vocabs = opt('--vocab', '32000,128256').split(',').map(Number);
const picks = Number(opt('--picks', '50')), repeats = Number(opt('--repeats', '5'));

/** Logits like a language model's: a normal spread (σ 2.5) with a few tokens far above (peaky), or without (flat). */
function logitsOf(V: number, peaky: boolean, seed: number): Float32Array {
  const u = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u());
  const x = Float32Array.from({ length: V }, () => 2.5 * normal());
  if (peaky) for (let i = 0; i < 20; i++) x[Math.floor(u() * V)] += 12 - i * 0.5;
  return x;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const OPTIONS: [string, SamplingOptions][] = [
  ['temperature 1', { temperature: 1 }],
  ['top-k 50', { temperature: 0.7, topK: 50 }],
  ['top-p 0.9', { temperature: 0.7, topP: 0.9 }],
  ['top-k 50, top-p 0.95', { temperature: 0.7, topK: 50, topP: 0.95 }],
];
console.log(`host: node ${process.version}; ${picks} picks per timing, median of ${repeats}\n`);
console.log('| vocabulary | logits | options | sort ms/token | heap ms/token | speed-up |');
console.log('| ---: | --- | --- | ---: | ---: | ---: |');
for (const V of vocabs) {
  for (const peaky of [true, false]) {
    const logits = logitsOf(V, peaky, V);
    for (const [label, o] of OPTIONS) {
      const times = { sort: [] as number[], heap: [] as number[] };
      for (let k = 0; k < repeats; k++) {
        for (const [name, f] of [['sort', pickTokenBySorting], ['heap', pickToken]] as const) {
          const u = mulberry32(k + 1);
          const t0 = performance.now();
          const got: number[] = [];
          for (let i = 0; i < picks; i++) got.push(f(logits, o, u));
          times[name].push((performance.now() - t0) / picks);
          if (name === 'heap') {
            const ref = mulberry32(k + 1);
            for (const [i, g] of got.entries()) if (g !== pickTokenBySorting(logits, o, ref)) throw new Error(`${label}: pick ${i} differs`);
          }
        }
      }
      const [s, h] = [median(times.sort), median(times.heap)];
      console.log(`| ${V} | ${peaky ? 'peaky' : 'flat'} | ${label} | ${s.toFixed(2)} | ${h.toFixed(3)} | ${(s / h).toFixed(1)}× |`);
    }
  }
}
