// `relpo experiment [CONFIG]`: the paper's comparison, arm by arm, into one folder with a table and
// charts. Without a config: the built-in miniature (the synthetic task with an exact judge), which
// `npm run experiment` runs; --full runs its three-seed grid.
import { readFileSync } from 'node:fs';
import * as r from '../index.js';
import type { FlagSpec, Flags } from './args.js';

export const EXPERIMENT_FLAGS: FlagSpec[] = [
  { name: 'config', help: 'a YAML or JSON experiment config (docs/experiments.md); also the first argument; empty: the built-in miniature', default: '' },
  { name: 'out', help: 'the experiment folder (an arm per sub-folder, each an ordinary relpo run; results.md, results.json, win-rates.svg, curves.svg)', default: 'runs/relpo-experiment' },
  { name: 'full', help: "the built-in miniature's full grid (three seeds) instead of its two-seed default", default: false },
  { name: 'seeds', help: 'run seeds 0 … N−1 instead of the config\'s', default: '', check: { int: true, min: 1 } },
  { name: 'device', help: 'cpu (the default: fastest for the miniature\'s tiny model), webgpu or auto', default: 'cpu', check: { choices: ['webgpu', 'cpu', 'auto'] } },
  { name: 'progress', help: 'progress bars of the training runs', default: false },
];

export async function runExperimentCommand(flags: Flags): Promise<void> {
  const path = String(flags.config);
  let config = path
    ? r.parseExperimentConfig(readText(path), path)
    : r.resolveExperimentConfig(flags.full ? r.FULL_GRID : r.DEFAULT_EXPERIMENT, flags.full ? 'the built-in full grid' : 'the built-in miniature');
  if (flags.seeds !== '') config = { ...config, seeds: Array.from({ length: Number(flags.seeds) }, (_, i) => i) };
  const device = await r.init({ device: flags.device as r.DeviceChoice });
  const out = String(flags.out);
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    process.stderr.write(`\n${sig}: finishing this step; run the same command again to resume at this arm (${sig} again to exit at once)\n`);
    stop.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = performance.now();
  process.stdout.write(`relpo experiment '${config.name}': ${config.tasks.length} task(s) × ${config.arms.length} arms × ${config.seeds.length} seed(s) on ${device.kind}, into ${out}\n`);
  try {
    const report = await r.runExperiment(config, {
      outDir: out, device, progress: Boolean(flags.progress), signal: stop.signal,
      log: (line) => process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`),
    });
    process.stdout.write(`\n${report.markdown}\nwrote ${report.files.join(', ')} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`relpo experiment: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}
