// relpo experiment: for each task, its SFT start (task-setup.ts); for each seed and arm, an ordinary
// training run and its evaluation (arm.ts); then every arm judged pairwise against the baseline
// arm; then the table and charts (report.ts), written from the files alone. Arm by arm resumable:
// a finished arm (result.json) is skipped, a half-trained one resumes from its checkpoint, half-done
// completions and verdicts keep their lines.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Device } from '../autograd/device.js';
import type { Verdict } from '../eval/win-rate.js';
import { historyText } from '../eval/judge-prompts.js';
import type { JudgedComparison } from '../eval/judge.js';
import { withRunLock } from '../train/run-lock.js';
import { loadSentenceEmbedder } from '../models/sentence-embedder.js';
import { fetchHubPath } from '../io/hub-cache.js';
import type { ExperimentConfig } from './config.js';
import { prepareTask, taskName } from './task-setup.js';
import { type ArmContext, type ArmResult, judgeFile, readCompletions, readJsonl, runArm } from './arm.js';
import { type ArmRow, armRow, curvesSvg, tableMarkdown, winRateSvg } from './report.js';

export interface RunExperimentOptions {
  outDir: string;
  device: Device;
  /** Progress bars of the training runs on stderr. */
  progress?: boolean;
  /** Stops after the step under way (the arm resumes next time). */
  signal?: AbortSignal;
  /** One line per stage (default: none). */
  log?: (line: string) => void;
}

export interface ExperimentReport {
  rows: ArmRow[];
  markdown: string;
  /** The files written under outDir. */
  files: string[];
}

const armDir = (outDir: string, task: string, arm: string, seed: number) => join(outDir, task, arm, `seed-${seed}`);
const pairwiseFile = (dir: string, baseline: string) => join(dir, `pairwise-${baseline}.jsonl`);

export async function runExperiment(config: ExperimentConfig, o: RunExperimentOptions): Promise<ExperimentReport> {
  await mkdir(o.outDir, { recursive: true });
  return withRunLock(o.outDir, async () => {
    await recordConfig(config, o.outDir);
    const log = o.log ?? (() => {});
    const embedderDir = config.train.promptEmbedder;
    const promptEmbedder = embedderDir ? await loadSentenceEmbedder(await fetchHubPath(embedderDir, 'model'), { device: o.device }) : undefined;
    try {
      for (const task of config.tasks) {
        const name = taskName(task);
        log(`${name}: data and SFT start`);
        const prepared = await prepareTask(task, config, join(o.outDir, name), { device: o.device, progress: o.progress ?? false, ...(o.signal ? { signal: o.signal } : {}) });
        const ctx: ArmContext = { task: prepared, config, device: o.device, ...(promptEmbedder ? { promptEmbedder } : {}), progress: o.progress ?? false, ...(o.signal ? { signal: o.signal } : {}) };
        for (const seed of config.seeds) {
          for (const arm of config.arms) {
            const dir = armDir(o.outDir, name, arm.name, seed);
            if (!existsSync(join(dir, 'result.json'))) log(`${name}: ${arm.name}, seed ${seed}`);
            await mkdir(dir, { recursive: true });
            await runArm(ctx, arm, seed, dir);
            if (o.signal?.aborted) throw new Error('experiment: stopped; run it again to resume at this arm');
          }
          // Each arm against the baseline's completions of the same prompts.
          const base = await readCompletions(armDir(o.outDir, name, config.baseline, seed));
          const baseOf = new Map(base.map((c) => [c.id, c.completion]));
          for (const arm of config.arms.filter((a) => a.name !== config.baseline)) {
            const dir = armDir(o.outDir, name, arm.name, seed);
            const mine = await readCompletions(dir);
            await judgeFile(ctx, pairwiseFile(dir, config.baseline), mine.filter((c) => baseOf.has(c.id)).map((c) => ({ id: c.id, history: historyText(c.prompt), candidate: c.completion, baseline: baseOf.get(c.id)! })));
          }
        }
      }
    } finally {
      promptEmbedder?.dispose();
    }
    return writeReport(config, o.outDir);
  });
}

/** The out folder holds one experiment: its resolved config is written once and must match on resume. */
async function recordConfig(config: ExperimentConfig, outDir: string): Promise<void> {
  const file = join(outDir, 'experiment.json');
  if (existsSync(file)) {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    const diff = deepDifference(saved, JSON.parse(JSON.stringify(config)) as unknown, '');
    if (diff) throw new Error(`${outDir} holds another experiment (${file}): ${diff}; resume it with its own config, or choose another --out`);
    return;
  }
  await writeFile(file, JSON.stringify(config, null, 1) + '\n');
}

/** The first path at which two JSON values differ, described, or null. */
function deepDifference(was: unknown, now: unknown, path: string): string | null {
  if (typeof was === 'object' && was !== null && typeof now === 'object' && now !== null && Array.isArray(was) === Array.isArray(now)) {
    const a = was as Record<string, unknown>, b = now as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = deepDifference(a[k], b[k], Array.isArray(was) ? `${path}[${k}]` : path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  return JSON.stringify(was) === JSON.stringify(now) ? null : `${path || 'the config'} was ${JSON.stringify(was)}, now ${JSON.stringify(now)}`;
}

/** The table and charts from the per-arm files (what a reader can recompute). */
export async function collectRows(config: ExperimentConfig, outDir: string): Promise<{ rows: ArmRow[]; curves: { task: string; arm: string; loss: number[] }[] }> {
  const rows: ArmRow[] = [];
  const curves: { task: string; arm: string; loss: number[] }[] = [];
  const verdictsOf = async (file: string) => (await readJsonl<JudgedComparison>(file)).map((v) => v.verdict as Verdict);
  for (const task of config.tasks.map(taskName)) {
    for (const arm of config.arms) {
      const dirs = config.seeds.map((s) => armDir(outDir, task, arm.name, s)).filter((d) => existsSync(join(d, 'result.json')));
      if (dirs.length === 0) continue;
      const results = await Promise.all(dirs.map(async (d) => JSON.parse(await readFile(join(d, 'result.json'), 'utf8')) as ArmResult));
      const verdicts = (await Promise.all(dirs.map((d) => verdictsOf(join(d, 'verdicts.jsonl'))))).flat();
      const pairwise = arm.name === config.baseline ? null : (await Promise.all(dirs.map((d) => verdictsOf(pairwiseFile(d, config.baseline))))).flat();
      rows.push(armRow(results, verdicts, pairwise));
      const metrics = await readJsonl<Record<string, number>>(join(dirs[0], 'run', 'metrics.jsonl'));
      curves.push({ task, arm: arm.name, loss: metrics.filter((m) => m.loss !== undefined).map((m) => m.loss) });
    }
  }
  return { rows, curves };
}

async function writeReport(config: ExperimentConfig, outDir: string): Promise<ExperimentReport> {
  const { rows, curves } = await collectRows(config, outDir);
  const title = `relpo experiment '${config.name}': ${config.arms.length} arms × ${config.seeds.length} seed(s), baseline ${config.baseline}`;
  const markdown = tableMarkdown(rows, config.baseline, title);
  const files = ['results.md', 'results.json', 'win-rates.svg', 'curves.svg'].map((f) => join(outDir, f));
  await writeFile(files[0], markdown);
  await writeFile(files[1], JSON.stringify({ config: config.name, baseline: config.baseline, rows }, null, 1) + '\n');
  await writeFile(files[2], winRateSvg(rows, title));
  await writeFile(files[3], curvesSvg(curves, title));
  return { rows, markdown, files };
}
