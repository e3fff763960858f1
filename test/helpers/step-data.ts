// The step tests' data (test/train/step-scope.test.ts, the data-parallel fixture): eight pairs over
// four prompts, each prompt in two different micro-batches of 2, and prompt embeddings that are a
// deterministic function of the text.
import * as r from '../../src/index.js';
import type { PromptEmbedder } from '../../src/train/index.js';
import { cpu } from './devices.js';

export const PAIRED = [
  { prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' },
  { prompt: 'Water is', chosen: ' wet.', rejected: ' dry.' },
  { prompt: 'Fire is', chosen: ' hot.', rejected: ' cold.' },
  { prompt: 'The sky is', chosen: ' clear today.', rejected: ' made of cheese.' },
  { prompt: 'Snow is', chosen: ' white.', rejected: ' black.' },
  { prompt: 'Water is', chosen: ' a liquid.', rejected: ' a metal.' },
  { prompt: 'Fire is', chosen: ' bright.', rejected: ' frozen.' },
  { prompt: 'Snow is', chosen: ' cold and soft.', rejected: ' hot.' },
];

/** Deterministic, non-orthogonal prompt embeddings from the text (a stand-in for MiniLM). */
export const textEmbedder: PromptEmbedder = {
  async encode(texts) {
    const d = 4;
    const v = new Float64Array(texts.length * d);
    texts.forEach((x, i) => {
      v.set([x.length / 10, [...x].filter((ch) => 'aeiou'.includes(ch)).length / 3, (x.charCodeAt(0) % 7) / 7, 1], i * d);
    });
    return r.tensor(v, [texts.length, d], { device: cpu, dtype: 'float64' });
  },
};
