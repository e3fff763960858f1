// A training run's metrics.jsonl drawn as one SVG a person can open in a browser: one panel per
// series (loss, reward margins and accuracies, gradient norm, learning rate), training steps as a
// line and held-out evaluations as dots on the same axes. Plain SVG text, no dependency.

/** The panels drawn, in order, when the run has them: the training key and its evaluation key. */
export const PLOTTED: readonly { key: string; title: string }[] = [
  { key: 'loss', title: 'loss' },
  { key: 'rewards/margins', title: 'reward margin' },
  { key: 'rewards/accuracies', title: 'reward accuracy' },
  { key: 'grad_norm', title: 'gradient norm (before clipping)' },
  { key: 'lr', title: 'learning rate' },
];

export interface Panel {
  key: string;
  title: string;
  /** (step, value) of the training lines, and of the evaluations (eval_<key>). */
  train: [number, number][];
  evals: [number, number][];
}

/** The panels of a run's metrics lines (the objects of metrics.jsonl). */
export function metricsPanels(lines: Record<string, number>[]): Panel[] {
  const panels: Panel[] = [];
  for (const { key, title } of PLOTTED) {
    const train = lines.filter((l) => Number.isFinite(l[key]) && !('eval_loss' in l)).map((l): [number, number] => [l.step, l[key]]);
    const evals = lines.filter((l) => Number.isFinite(l[`eval_${key}`])).map((l): [number, number] => [l.step, l[`eval_${key}`]]);
    if (train.length + evals.length > 0) panels.push({ key, title, train, evals });
  }
  return panels;
}

const W = 420, H = 240, PAD = { left: 64, right: 16, top: 28, bottom: 36 };

const fmt = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(4)).toString());
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function panelSvg(p: Panel, x0: number, y0: number): string {
  const all = [...p.train, ...p.evals];
  const steps = all.map(([s]) => s), values = all.map(([, v]) => v);
  let [sMin, sMax] = [Math.min(...steps), Math.max(...steps)];
  let [vMin, vMax] = [Math.min(...values), Math.max(...values)];
  if (sMax === sMin) [sMin, sMax] = [sMin - 1, sMax + 1];
  if (vMax === vMin) [vMin, vMax] = [vMin - Math.max(1e-9, Math.abs(vMin) * 0.05), vMax + Math.max(1e-9, Math.abs(vMax) * 0.05)];
  const pw = W - PAD.left - PAD.right, ph = H - PAD.top - PAD.bottom;
  const x = (s: number) => x0 + PAD.left + ((s - sMin) / (sMax - sMin)) * pw;
  const y = (v: number) => y0 + PAD.top + (1 - (v - vMin) / (vMax - vMin)) * ph;
  const out = [
    `<g class="panel" data-key="${esc(p.key)}">`,
    `<text x="${x0 + PAD.left}" y="${y0 + 18}" font-size="14" font-weight="bold">${esc(p.title)}</text>`,
    `<rect x="${x0 + PAD.left}" y="${y0 + PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="#bbb"/>`,
    ...[vMin, (vMin + vMax) / 2, vMax].map((v) => `<text x="${x0 + PAD.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${fmt(v)}</text>`),
    ...[sMin, sMax].map((s) => `<text x="${x(s)}" y="${y0 + H - PAD.bottom + 16}" font-size="11" text-anchor="middle">${fmt(s)}</text>`),
    `<text x="${x0 + PAD.left + pw / 2}" y="${y0 + H - 6}" font-size="11" text-anchor="middle">step</text>`,
  ];
  if (p.train.length) out.push(`<polyline class="train" fill="none" stroke="#1f77b4" stroke-width="1.5" points="${p.train.map(([s, v]) => `${x(s).toFixed(2)},${y(v).toFixed(2)}`).join(' ')}"/>`);
  for (const [s, v] of p.evals) out.push(`<circle class="eval" cx="${x(s).toFixed(2)}" cy="${y(v).toFixed(2)}" r="3.5" fill="#d62728"><title>eval ${fmt(v)} at step ${s}</title></circle>`);
  out.push('</g>');
  return out.join('\n');
}

/** The whole figure: panels two to a row, a legend, the run's name as the title. */
export function metricsSvg(lines: Record<string, number>[], title: string): string {
  const panels = metricsPanels(lines);
  const cols = 2, rows = Math.max(1, Math.ceil(panels.length / cols));
  const width = cols * W, height = rows * H + 40;
  const body = panels.map((p, i) => panelSvg(p, (i % cols) * W, 40 + Math.floor(i / cols) * H));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="12" y="24" font-size="16">${esc(title)}</text>`,
    `<text x="${width - 12}" y="24" font-size="12" text-anchor="end"><tspan fill="#1f77b4">— training steps</tspan>  <tspan fill="#d62728">● evaluations</tspan></text>`,
    ...(panels.length ? body : [`<text x="12" y="64" font-size="14">no metrics yet</text>`]),
    '</svg>',
    '',
  ].join('\n');
}
