/**
 * What `npm run accounts` shows while it works: on a terminal, one line redrawn in place (a bar,
 * rows, rows per second, time left); otherwise (a pipe, a log file) a plain line every few seconds
 * and one when each step ends. Messages (bad rows) are printed above the bar as they come.
 */

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** Redraw a bar in place (a terminal) or write plain lines. */
  readonly terminal: boolean;
  /** Plain lines: at most one per this many ms while a step runs. */
  readonly plainEveryMs?: number;
  readonly now?: () => number;
}

const BAR_WIDTH = 24;
const REDRAW_EVERY_MS = 100;

const count = (value: number): string => Math.round(value).toLocaleString('en-US');

export function duration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

interface Step {
  readonly label: string;
  readonly started: number;
  /** What 100% is: bytes of the file, or rows; unknown for a stream of unknown length. */
  readonly total?: { readonly amount: number; readonly unit: 'bytes' | 'rows' };
  /** A step with nothing to count shows this and the time it has run. */
  readonly note?: string;
  rows: number;
  done: number;
  updates: number;
  lastDrawn: number;
}

export class Progress {
  private step: Step | undefined;
  private shown = false;
  private readonly now: () => number;
  private readonly plainEveryMs: number;

  constructor(
    private readonly out: ProgressOutput,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.plainEveryMs = options.plainEveryMs ?? 5000;
  }

  /** Starts a step that counts rows; `total` makes a percentage and a time left. */
  start(label: string, total?: Step['total'], note?: string): void {
    this.step = { label, started: this.now(), total, note, rows: 0, done: 0, updates: 0, lastDrawn: this.now() };
    if (this.options.terminal) this.draw();
  }

  /** `rows` so far, and how far towards the total (bytes or rows; rows when not given). */
  update(rows: number, done = rows): void {
    const step = this.step;
    if (step === undefined) return;
    step.rows = rows;
    step.done = done;
    const now = this.now();
    if (this.options.terminal) {
      // The first figures at once, then at most every REDRAW_EVERY_MS.
      if (step.updates === 0 || now - step.lastDrawn >= REDRAW_EVERY_MS) this.draw();
      step.updates += 1;
    } else if (now - step.lastDrawn >= this.plainEveryMs) {
      step.lastDrawn = now;
      this.out.write(`${step.label}: ${this.figures(step, now).join(', ')}\n`);
    }
  }

  /** Ends the step with one line saying what it did. */
  finish(what: string): void {
    const step = this.step;
    if (step === undefined) return;
    const elapsed = this.now() - step.started;
    this.clear();
    const rate = elapsed > 0 ? `, ${count((step.rows * 1000) / elapsed)} rows/s` : '';
    this.out.write(`${step.label}: ${what} in ${duration(elapsed)}${step.rows > 0 ? rate : ''}\n`);
    this.step = undefined;
  }

  /** A line of its own, above the bar. */
  message(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    if (this.step !== undefined && this.options.terminal) this.draw();
  }

  /**
   * A step with no progress to count (one long statement): the time it has run, redrawn each
   * second on a terminal. Returns the function that ends it with `what` it did.
   */
  wait(label: string, note: string): (what: string) => void {
    let timer: NodeJS.Timeout | undefined;
    this.start(label, undefined, note);
    if (this.options.terminal) {
      timer = setInterval(() => this.draw(), 1000);
      timer.unref();
    } else {
      this.out.write(`${label}: ${note}\n`);
    }
    return (what) => {
      clearInterval(timer);
      this.finish(what);
    };
  }

  private figures(step: Step, now: number): string[] {
    const elapsed = now - step.started;
    const parts = [`${count(step.rows)} rows`];
    if (elapsed > 0) parts.push(`${count((step.rows * 1000) / elapsed)} rows/s`);
    const fraction = this.fraction(step);
    if (fraction !== undefined) {
      parts.push(`${Math.floor(fraction * 100)}%`);
      if (fraction > 0 && elapsed > 0) parts.push(`ETA ${duration((elapsed * (1 - fraction)) / fraction)}`);
    }
    return parts;
  }

  private fraction(step: Step): number | undefined {
    if (step.total === undefined || step.total.amount <= 0) return undefined;
    return Math.min(1, step.done / step.total.amount);
  }

  private draw(): void {
    const step = this.step;
    if (step === undefined) return;
    const now = this.now();
    step.lastDrawn = now;
    let line: string;
    if (step.note !== undefined) {
      line = `${step.label}  ${step.note}  ${duration(now - step.started)}`;
    } else {
      const fraction = this.fraction(step);
      const bar =
        fraction === undefined ? '' : `[${'#'.repeat(Math.round(fraction * BAR_WIDTH)).padEnd(BAR_WIDTH, '.')}]  `;
      line = `${step.label}  ${bar}${this.figures(step, now).join('  ')}`;
    }
    // A terminal of unknown size (a pseudo-terminal nobody sized) says 0 columns.
    const width = this.out.columns || 80;
    this.out.write(`\r\x1b[2K${line.slice(0, Math.max(10, width - 1))}`);
    this.shown = true;
  }

  private clear(): void {
    if (!this.shown) return;
    this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}
