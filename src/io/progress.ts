// A tqdm-style progress bar: on stderr in Node (redrawn in place on a terminal, one line per ~10%
// otherwise, so CI logs stay short); in a browser, where there is no process, each update goes to
// the callback given (a page's own display), or nowhere.

/** One update of a progress bar, as a display shows it. */
export interface Progress {
  label: string;
  done: number;
  total: number;
  elapsedSeconds: number;
  /** Seconds left at the current rate. */
  etaSeconds: number;
  /** Items per second. */
  rate: number;
  /** Extra text after the bar (the loss, …). */
  postfix: string;
  /** The tqdm-style line the terminal shows. */
  line: string;
}

/** Where updates go: a function of each update (a page), or true for stderr in Node. */
export type ProgressDisplay = boolean | ((p: Progress) => void);

interface Stderr {
  isTTY?: boolean;
  write(s: string): unknown;
}

const nodeStderr = (): Stderr | undefined => (globalThis as { process?: { stderr?: Stderr } }).process?.stderr;

export class ProgressBar {
  private start = Date.now();
  private lastPrinted = -1;
  private readonly stderr: Stderr | undefined;
  private readonly show: ((p: Progress) => void) | undefined;

  /** display: a callback for each update, else stderr where there is one (Node), else nothing. */
  constructor(private readonly total: number, private readonly label: string, display: ProgressDisplay = true) {
    this.show = typeof display === 'function' ? display : undefined;
    this.stderr = display === true ? nodeStderr() : undefined;
  }

  update(done: number, postfix = ''): void {
    const frac = this.total === 0 ? 1 : done / this.total;
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const line = `${this.label} ${String(Math.round(frac * 100)).padStart(3)}%|${'█'.repeat(filled)}${' '.repeat(width - filled)}| ${done}/${this.total} [${elapsed.toFixed(1)}s<${eta.toFixed(1)}s, ${rate.toFixed(2)} it/s]${postfix ? ` ${postfix}` : ''}`;
    this.show?.({ label: this.label, done, total: this.total, elapsedSeconds: elapsed, etaSeconds: eta, rate, postfix, line });
    const err = this.stderr;
    if (!err) return;
    if (err.isTTY === true) {
      err.write(`\r${line}\x1b[K`);
      if (done >= this.total) err.write('\n');
    } else {
      const decile = Math.floor(frac * 10);
      if (decile !== this.lastPrinted || done >= this.total) {
        this.lastPrinted = decile;
        err.write(`${line}\n`);
      }
    }
  }
}
