// `relpo plot RUN_DIR`: the run's metrics.jsonl as an SVG (relpo train writes one at the end too).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { metricsSvg } from '../io/metrics-plot.js';
import type { FlagSpec, Flags } from './args.js';

export const PLOT_FLAGS: FlagSpec[] = [
  { name: 'run', help: 'the run folder holding metrics.jsonl (relpo train --out); also the first argument', default: 'runs/relpo-train' },
  { name: 'out', help: 'the SVG to write; empty: <run>/metrics.svg', default: '' },
];

/** Draws `dir`/metrics.jsonl into an SVG; returns its path. Each bad line is an error naming its line number. */
export function plotRun(dir: string, out = join(dir, 'metrics.svg')): string {
  const path = join(dir, 'metrics.jsonl');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`relpo plot: no ${path}; pass the --out folder of a relpo train run`);
  }
  const lines = text.split('\n').flatMap((l, i) => {
    if (!l.trim()) return [];
    try {
      return [JSON.parse(l) as Record<string, number>];
    } catch {
      throw new Error(`relpo plot: ${path}:${i + 1} is not a JSON line`);
    }
  });
  writeFileSync(out, metricsSvg(lines, `${dir}: ${lines.filter((l) => !('eval_loss' in l)).length} steps`));
  return out;
}

export async function runPlot(flags: Flags): Promise<void> {
  const out = plotRun(String(flags.run), flags.out ? String(flags.out) : undefined);
  process.stdout.write(`wrote ${out}\n`);
}
