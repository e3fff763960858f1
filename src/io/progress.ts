// A tqdm-style progress bar on stderr: redrawn in place on a terminal, one line per ~10% otherwise
// (CI logs stay short). Where there is no stderr (a browser) it shows nothing: a page shows
// progress through trainPreference's onProgress.
export class ProgressBar {
  private start = Date.now();
  private lastPrinted = -1;
  private readonly stderr = typeof process === 'undefined' ? undefined : process.stderr;
  private readonly tty = this.stderr?.isTTY === true;

  constructor(private readonly total: number, private readonly label: string) {}

  update(done: number, postfix = ''): void {
    const stderr = this.stderr;
    if (!stderr) return;
    const frac = this.total === 0 ? 1 : done / this.total;
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const line = `${this.label} ${String(Math.round(frac * 100)).padStart(3)}%|${'█'.repeat(filled)}${' '.repeat(width - filled)}| ${done}/${this.total} [${elapsed.toFixed(1)}s<${eta.toFixed(1)}s, ${rate.toFixed(2)} it/s]${postfix ? ` ${postfix}` : ''}`;
    if (this.tty) {
      stderr.write(`\r${line}\x1b[K`);
      if (done >= this.total) stderr.write('\n');
    } else {
      const decile = Math.floor(frac * 10);
      if (decile !== this.lastPrinted || done >= this.total) {
        this.lastPrinted = decile;
        stderr.write(`${line}\n`);
      }
    }
  }
}
