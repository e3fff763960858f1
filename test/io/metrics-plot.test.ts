// relpo plot: metrics.jsonl as an SVG with one panel per series, training steps as a line, evaluations as dots.
import test from 'ava';
import { metricsPanels, metricsSvg } from '../../src/io/metrics-plot.js';

const lines: Record<string, number>[] = [
  { step: 1, epoch: 0, loss: 0.6931, lr: 1e-3, grad_norm: 2, 'rewards/margins': 0, 'rewards/accuracies': 0 },
  { step: 2, epoch: 0, loss: 0.6, lr: 5e-4, grad_norm: 1.5, 'rewards/margins': 0.2, 'rewards/accuracies': 0.5 },
  { step: 2, epoch: 0, eval_loss: 0.65, 'eval_rewards/margins': 0.1, 'eval_rewards/accuracies': 0.25, eval_samples: 4 },
  { step: 3, epoch: 1, loss: 0.4, lr: 0, grad_norm: 1, 'rewards/margins': 0.9, 'rewards/accuracies': 1 },
];

/** Every opened tag is closed, in order (a well-formedness check without an XML parser). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2]);
  }
  return stack.length === 0;
}

test('panels: each series with its training steps and its evaluations', (t) => {
  const panels = metricsPanels(lines);
  t.deepEqual(panels.map((p) => p.key), ['loss', 'rewards/margins', 'rewards/accuracies', 'grad_norm', 'lr']);
  t.deepEqual(panels[0].train, [[1, 0.6931], [2, 0.6], [3, 0.4]]);
  t.deepEqual(panels[0].evals, [[2, 0.65]]);
  t.deepEqual(panels[3].evals, []);
});

test('the SVG is well formed, has a line of every step and a dot of every evaluation, higher values drawn higher', (t) => {
  const svg = metricsSvg(lines, 'runs/x: 3 steps');
  t.true(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(balanced(svg), 'tags balance');
  const polylines = [...svg.matchAll(/<polyline class="train"[^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
  t.is(polylines.length, 5);
  t.deepEqual(polylines.map((p) => p.length), [3, 3, 3, 3, 3]);
  const loss = polylines[0];
  t.true(loss[0][0] < loss[1][0] && loss[1][0] < loss[2][0], 'steps left to right');
  t.true(loss[0][1] < loss[2][1], 'the first loss (largest) is drawn above the last');
  t.is([...svg.matchAll(/<circle class="eval"/g)].length, 3, 'eval loss, margin and accuracy');
  t.regex(svg, /<title>eval 0\.65 at step 2<\/title>/);
  t.regex(metricsSvg([], 'empty'), /no metrics yet/);
});
