// The experiment's table and charts, computed from the per-arm files alone (result.json,
// verdicts.jsonl, pairwise-<baseline>.jsonl, run/metrics.jsonl), so a reader can recompute every
// number: win rates pool the verdicts of all seeds (Wilson 95% interval); the other columns are
// means over seeds.
import type { Verdict, WinRate } from '../eval/win-rate.js';
import { winRate } from '../eval/win-rate.js';
import type { ArmResult } from './arm.js';

export interface ArmRow {
  task: string;
  arm: string;
  seeds: number;
  /** Against the held-out references. */
  vsReference: WinRate;
  /** Against the baseline arm (null for the baseline itself). */
  vsBaseline: WinRate | null;
  rewardAccuracy: number;
  rewardMargin: number;
  kl: number;
  meanScore: number | null;
  trainSeconds: number;
  steps: number;
}

const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

export function armRow(results: ArmResult[], verdicts: Verdict[], pairwise: Verdict[] | null): ArmRow {
  const meanOf = (f: (r: ArmResult) => number | null) => mean(results.map(f).filter((v): v is number => v !== null));
  const scores = results.map((r) => r.meanScore).filter((v): v is number => v !== null);
  return {
    task: results[0].task, arm: results[0].arm, seeds: results.length,
    vsReference: winRate(verdicts), vsBaseline: pairwise ? winRate(pairwise) : null,
    rewardAccuracy: meanOf((r) => r.rewardAccuracy), rewardMargin: meanOf((r) => r.rewardMargin), kl: meanOf((r) => r.kl),
    meanScore: scores.length ? mean(scores) : null, trainSeconds: meanOf((r) => r.trainSeconds), steps: meanOf((r) => r.steps),
  };
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '–');
const fix = (x: number | null, d = 3) => (x !== null && Number.isFinite(x) ? x.toFixed(d) : '–');
const rate = (w: WinRate | null) => (w ? `${pct(w.rate)} [${pct(w.low)}, ${pct(w.high)}]` : '(baseline)');

/** The markdown table: one section per task. */
export function tableMarkdown(rows: ArmRow[], baseline: string, title: string): string {
  const out = [`# ${title}`, ''];
  for (const task of [...new Set(rows.map((r) => r.task))]) {
    out.push(`## ${task}`, '', `| arm | win % vs reference [95% CI] | win % vs ${baseline} [95% CI] | reward acc. | margin | KL to SFT | oracle score | train s | seeds |`, '|---|---|---|---|---|---|---|---|---|');
    for (const r of rows.filter((x) => x.task === task)) {
      out.push(`| ${r.arm} | ${rate(r.vsReference)} | ${rate(r.vsBaseline)} | ${fix(r.rewardAccuracy)} | ${fix(r.rewardMargin)} | ${fix(r.kl)} | ${fix(r.meanScore, 2)} | ${fix(r.trainSeconds, 1)} | ${r.seeds} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Win rates against the references with their intervals, one panel per task (SVG). */
export function winRateSvg(rows: ArmRow[], title: string): string {
  const tasks = [...new Set(rows.map((r) => r.task))];
  const arms = [...new Set(rows.map((r) => r.arm))];
  const W = 260, H = 24 * arms.length + 60, left = 150;
  const x = (v: number) => left + v * (W - 20);
  const panels = tasks.map((task, p) => {
    const ox = p * (left + W + 20);
    const bars = arms.map((arm, i) => {
      const r = rows.find((q) => q.task === task && q.arm === arm);
      const y = 40 + i * 24;
      if (!r || !Number.isFinite(r.vsReference.rate)) return '';
      const w = r.vsReference;
      return `<text x="${ox + left - 6}" y="${y + 12}" text-anchor="end" font-size="11">${esc(arm)}</text>`
        + `<rect x="${ox + left}" y="${y + 2}" width="${x(w.rate) - left}" height="14" fill="#7aa6d6"/>`
        + `<line x1="${ox + x(w.low)}" x2="${ox + x(w.high)}" y1="${y + 9}" y2="${y + 9}" stroke="#222" stroke-width="1.5"/>`
        + `<text x="${ox + x(w.high) + 4}" y="${y + 13}" font-size="10">${pct(w.rate)}%</text>`;
    }).join('');
    const half = `<line x1="${ox + x(0.5)}" x2="${ox + x(0.5)}" y1="36" y2="${H - 16}" stroke="#999" stroke-dasharray="3,3"/>`;
    const axis = [0, 0.25, 0.5, 0.75, 1].map((v) => `<text x="${ox + x(v)}" y="${H - 4}" text-anchor="middle" font-size="10">${v * 100}%</text>`).join('');
    return `<text x="${ox + left}" y="28" font-size="13" font-weight="bold">${esc(task)}: win rate vs reference</text>${half}${bars}${axis}`;
  }).join('');
  const width = tasks.length * (left + W + 20);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + 18}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="8" y="${H + 12}" font-size="10">${esc(title)}</text>${panels}</svg>\n`;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/**
 * Training loss per step of each arm (first seed), one panel per task (SVG), each curve divided by
 * its first step's loss: the losses live on different scales (IPO's squared margin is ~25 where
 * DPO's is log 2), so their shapes are compared, not their values.
 */
export function curvesSvg(curves: { task: string; arm: string; loss: number[] }[], title: string): string {
  const tasks = [...new Set(curves.map((c) => c.task))];
  const arms = [...new Set(curves.map((c) => c.arm))];
  const W = 360, H = 220, pad = 36;
  const panels = tasks.map((task, p) => {
    const ox = p * (W + 150);
    const mine = curves.filter((c) => c.task === task && c.loss.length > 0 && c.loss[0] !== 0).map((c) => ({ ...c, loss: c.loss.map((v) => v / c.loss[0]) }));
    const all = mine.flatMap((c) => c.loss).filter(Number.isFinite);
    if (all.length === 0) return '';
    const [lo, hi] = [Math.min(...all), Math.max(...all)];
    const steps = Math.max(...mine.map((c) => c.loss.length));
    const px = (i: number) => ox + pad + (steps <= 1 ? 0 : (i / (steps - 1)) * (W - 2 * pad));
    const py = (v: number) => 30 + (hi === lo ? 0.5 : (hi - v) / (hi - lo)) * (H - 60);
    const lines = mine.map((c) => {
      const color = PALETTE[arms.indexOf(c.arm) % PALETTE.length];
      return `<polyline fill="none" stroke="${color}" stroke-width="1.3" points="${c.loss.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(' ')}"/>`;
    }).join('');
    const legend = mine.map((c, i) => `<text x="${ox + W - 20}" y="${40 + 13 * i}" font-size="10" fill="${PALETTE[arms.indexOf(c.arm) % PALETTE.length]}">${esc(c.arm)}</text>`).join('');
    const labels = `<text x="${ox + pad}" y="20" font-size="12" font-weight="bold">${esc(task)}: training loss ÷ its first step's</text>`
      + `<text x="${ox + 4}" y="34" font-size="9">${hi.toPrecision(3)}</text><text x="${ox + 4}" y="${H - 28}" font-size="9">${lo.toPrecision(3)}</text>`
      + `<text x="${ox + W / 2}" y="${H - 8}" font-size="9" text-anchor="middle">step (1 … ${steps})</text>`;
    return labels + lines + legend;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${tasks.length * (W + 150)}" height="${H + 16}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="8" y="${H + 12}" font-size="10">${esc(title)}</text>${panels}</svg>\n`;
}
