/**
 * Runs a pass every `intervalMs` and whenever woken; wakes during a pass coalesce into one more
 * pass after it, so passes never overlap and a wake is never lost. That next pass starts no sooner
 * than `minGapMs` after the previous one ended, so under a steady stream of wakes each pass takes
 * a larger batch instead of the passes themselves becoming the load.
 */
export class CoalescingPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  private gapTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly pass: () => Promise<void>,
    private readonly minGapMs = 0,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.intervalMs);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running || this.gapTimer) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (!this.again) return;
      this.again = false;
      if (this.minGapMs === 0) return this.wake();
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        this.wake();
      }, this.minGapMs);
    });
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    await this.running;
  }
}
