// A web page's use with no file system: load a checkpoint from bytes, train a LoRA adapter with KTO
// and RPO (unpaired) on in-memory feedback, save the adapter as bytes and load it back, in a child
// process where every node:fs / path / os / crypto / … function throws and process, Buffer and
// setImmediate are gone (test/helpers/no-fs-run.ts). The same run in this process, with all of
// Node, is the reference: the losses, progress and adapter bytes must be the same.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkpointFiles, feedbackRun, type FeedbackRun } from '../helpers/feedback-training.js';

const CHILD = fileURLToPath(new URL('../helpers/no-fs-run.js', import.meta.url));

test('trainPreference, adapterFiles and loading from memory touch no Node API at run time, and match the run with Node', async (t) => {
  const out = execFileSync(process.execPath, [CHILD], { encoding: 'utf8', timeout: 120_000 });
  const child = JSON.parse(out) as { trapped: string[]; run?: FeedbackRun; error?: string; controls: string[] };
  t.is(child.error, undefined);
  t.deepEqual(child.trapped, []);
  // The traps work: an ESM-imported node:fs/promises function and the folder path's node:path throw; process is gone.
  t.deepEqual(child.controls, [
    'node:fs/promises.readFile was called: a browser has no such function',
    'node:path.join was called: a browser has no such function',
    'undefined',
  ]);
  const withNode = await feedbackRun(await checkpointFiles());
  const run = child.run!;
  t.deepEqual(run.losses, withNode.losses);
  t.deepEqual(run.adapter, withNode.adapter);
  t.deepEqual(run.progress, withNode.progress);
  t.deepEqual(run.progress.slice(0, 4), ['1/4 kto', '2/4 kto', '3/4 kto', '4/4 kto']);
  t.deepEqual(Object.keys(run.adapter).sort(), ['adapter_config.json', 'adapter_model.safetensors', 'relpo_base.json']);
  // Training moved the adapter: the losses fell from their start (KTO's 1 − σ(0) = 0.5, RPO's log 2).
  t.true(Math.abs(run.losses.kto[0] - 0.5) < 1e-12 && run.losses.kto[3] < run.losses.kto[0] - 1e-3, `${run.losses.kto}`);
  t.true(Math.abs(run.losses.rpo[0] - Math.LN2) < 1e-12 && run.losses.rpo[3] < run.losses.rpo[0] - 1e-3, `${run.losses.rpo}`);
  // The saved adapter, loaded from memory into a fresh base, gives the trained policy's logits exactly.
  t.is(run.reloadedLogitsDiff, 0);
});
