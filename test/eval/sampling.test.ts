// Token sampling (src/eval/sampling.ts): the heap-selecting pickToken against the reference that
// sorts the whole vocabulary, the same token from the same random numbers, on random and tied
// logits, for every mix of temperature, top-k and top-p; topTokens against a full sort.
import test from 'ava';
import { mulberry32 } from '../../src/autograd/random.js';
import { pickToken, pickTokenBySorting, topTokens } from '../../src/eval/sampling.js';

function logitsOf(V: number, seed: number, ties: boolean): Float32Array {
  const u = mulberry32(seed);
  // Ties: values on a coarse grid, so many tokens share a logit.
  return Float32Array.from({ length: V }, () => (ties ? Math.round(u() * 6) : (u() - 0.5) * 12));
}

test('topTokens gives the head of the full order (logit descending, index ascending on ties)', (t) => {
  for (const [V, count, ties] of [[1, 1, false], [10, 3, true], [1000, 64, false], [1000, 64, true], [500, 500, true], [7, 20, false]] as const) {
    const logits = logitsOf(V, V + count, ties);
    const full = Array.from({ length: V }, (_, v) => v).sort((a, b) => logits[b] - logits[a] || a - b);
    t.deepEqual(topTokens(logits, count), full.slice(0, count), `V ${V}, count ${count}, ties ${ties}`);
  }
});

test('pickToken picks what the full-sort reference picks from the same random numbers, for every option mix', (t) => {
  const options = [
    { temperature: 0 }, { temperature: 1 }, { temperature: 0.7, topK: 5 }, { temperature: 1.3, topP: 0.9 },
    { temperature: 1, topP: 0.999 }, { temperature: 0.5, topK: 300, topP: 0.8 }, { temperature: 2, topK: 1 },
    { temperature: 1, topP: 1e-9 }, { temperature: 1, topK: 2000 }, { temperature: 3, topP: 0.5, topK: 3000 },
  ];
  let picks = 0;
  for (const ties of [false, true]) {
    for (const V of [3, 97, 5000]) {
      const logits = logitsOf(V, V * 7 + (ties ? 1 : 0), ties);
      for (const o of options) {
        const [a, b] = [mulberry32(11), mulberry32(11)];
        for (let i = 0; i < 25; i++) {
          t.is(pickToken(logits, o, a), pickTokenBySorting(logits, o, b), `V ${V} ties ${ties} ${JSON.stringify(o)} draw ${i}`);
          picks++;
        }
      }
    }
  }
  t.is(picks, 2 * 3 * options.length * 25);
});
