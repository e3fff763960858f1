// ProgressBar: a callback display gets every update with its numbers and line (what a page shows);
// display false shows nothing; the default writes stderr only where a process exists.
import test from 'ava';
import { ProgressBar, type Progress } from '../../src/io/index.js';

test('a callback display gets each update: done, total, label, postfix and the tqdm line', (t) => {
  const seen: Progress[] = [];
  const bar = new ProgressBar(4, 'rpo', (p) => seen.push(p));
  for (let i = 1; i <= 4; i++) bar.update(i, `loss ${i / 10}`);
  t.deepEqual(seen.map((p) => [p.label, p.done, p.total, p.postfix]), [1, 2, 3, 4].map((i) => ['rpo', i, 4, `loss ${i / 10}`]));
  t.regex(seen[3].line, /^rpo 100%\|█{24}\| 4\/4 \[.*\] loss 0\.4$/);
  t.true(seen.every((p) => p.elapsedSeconds >= 0 && p.rate >= 0 && p.etaSeconds >= 0));
});

test('display false writes nothing to stderr; true writes there', (t) => {
  const original = process.stderr.write.bind(process.stderr);
  const written: string[] = [];
  process.stderr.write = ((s: string) => (written.push(s), true)) as typeof process.stderr.write;
  try {
    new ProgressBar(2, 'quiet', false).update(2);
    t.deepEqual(written, []);
    new ProgressBar(2, 'loud').update(2);
  } finally {
    process.stderr.write = original;
  }
  t.true(written.join('').includes('loud 100%'));
});
