/**
 * A number of units of work (deliveries) allowed per turn of the event loop, shared by everyone
 * who takes from it: what does not fit this turn waits, in order of asking, for a later one, and
 * each new turn starts with the whole budget again. Between two turns the loop answers I/O, so no
 * request waits behind a long run of work however many callers take part in it (a flush of one
 * batch, or ten thousand subscriptions resuming at once after a restart).
 */
export class TurnBudget {
  private left: number;
  private readonly waiting: { readonly units: number; readonly resolve: () => void }[] = [];
  /** The first of `waiting` not resolved yet (shifting a long array per grant would cost more). */
  private head = 0;
  private renewing = false;

  constructor(private readonly perTurn: number) {
    this.left = perTurn;
  }

  /**
   * Takes `units` of this turn's budget: undefined when they fit (go on at once), else a promise
   * resolved in the turn they are granted in. A take larger than a whole turn's budget is granted
   * alone at the start of a turn, so nothing waits for ever.
   */
  take(units = 1): Promise<void> | undefined {
    this.renewNextTurn();
    if (this.head === this.waiting.length && this.fits(units)) {
      this.left -= units;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push({ units, resolve }));
  }

  private fits(units: number): boolean {
    return units <= this.left || this.left === this.perTurn;
  }

  private renewNextTurn(): void {
    if (this.renewing) return;
    this.renewing = true;
    setImmediate(this.renew);
  }

  private readonly renew = (): void => {
    this.renewing = false;
    this.left = this.perTurn;
    while (this.head < this.waiting.length && this.fits(this.waiting[this.head].units)) {
      const { units, resolve } = this.waiting[this.head];
      this.head += 1;
      this.left -= units;
      resolve();
    }
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    } else {
      // A queue that never empties (work arriving as fast as it is granted) is compacted now and then.
      if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      this.renewNextTurn();
    }
  };
}
