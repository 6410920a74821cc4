import type { Viewer } from '../auth/viewer.js';

/**
 * One subscription's stream of per-user values (profiles, statuses). Values waiting to be read are
 * kept per user, newest only: a slow reader gets each changed user's latest value once, and memory
 * stays bounded by the users it watches.
 */
export class LatestFeed<T extends { readonly userID: string }> implements AsyncIterableIterator<T> {
  private readonly waiting = new Map<string, T>();
  private wake: ((result: IteratorResult<T>) => void) | undefined;
  private done = false;
  /** Set by `consume`: values go to it as they come instead of through `next`. */
  private consumer: ((values: readonly T[], handled: () => void) => void) | undefined;
  /** The consumer holds values and has not called `handled` yet. */
  private handing = false;
  private ended: (() => void) | undefined;

  constructor(
    /** Who watches (a profile is shown to its audience). */
    readonly viewer: Viewer,
    readonly userIDs: ReadonlySet<string>,
    private readonly onClose: (feed: LatestFeed<T>) => void,
  ) {}

  push(value: T): void {
    if (this.done) return;
    if (this.consumer !== undefined && !this.handing) return this.hand([value]);
    if (this.wake) {
      const wake = this.wake;
      this.wake = undefined;
      wake({ value, done: false });
      return;
    }
    this.waiting.delete(value.userID);
    this.waiting.set(value.userID, value);
  }

  /** The value waiting to be read for `userID`, if any. */
  held(userID: string): T | undefined {
    return this.waiting.get(userID);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    const first = this.waiting.entries().next();
    if (!first.done) {
      const [userID, value] = first.value;
      this.waiting.delete(userID);
      return Promise.resolve({ value, done: false });
    }
    return new Promise((resolve) => (this.wake = resolve));
  }

  /**
   * Hands every value from now on to `consumer` as it comes, rather than through `next`: no promise
   * per value, which with thousands of subscribers was most of what a delivery cost. Until the
   * consumer calls `handled`, newer values wait here, newest per user, as they do for a slow
   * reader; then those waiting go to it together (so a resumed subscription's backlog, or a slow
   * socket's, can be written at once). Resolves when the feed ends.
   */
  consume(consumer: (values: readonly T[], handled: () => void) => void): Promise<void> {
    this.consumer = consumer;
    const ended = this.done ? Promise.resolve() : new Promise<void>((resolve) => (this.ended = resolve));
    this.handNext();
    return ended;
  }

  private readonly handled = (): void => {
    this.handing = false;
    this.handNext();
  };

  private handNext(): void {
    if (this.done || this.handing || this.waiting.size === 0) return;
    const values = [...this.waiting.values()];
    this.waiting.clear();
    this.hand(values);
  }

  private hand(values: readonly T[]): void {
    this.handing = true;
    this.consumer!(values, this.handled);
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.done) {
      this.done = true;
      this.waiting.clear();
      this.wake?.({ value: undefined, done: true });
      this.wake = undefined;
      this.ended?.();
      this.ended = undefined;
      this.onClose(this);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/**
 * A hub's subscriptions by watched user: whom a user's new value goes to, and when nobody watches
 * a user any more (`onUnwatched`, for the hub to forget what it kept about them).
 */
export class FeedsByUser<T extends { readonly userID: string }> {
  private readonly feeds = new Map<string, Set<LatestFeed<T>>>();

  constructor(private readonly onUnwatched: (userID: string) => void) {}

  has(userID: string): boolean {
    return this.feeds.has(userID);
  }

  /** Every watched user. */
  users(): string[] {
    return [...this.feeds.keys()];
  }

  /** The feeds watching `userID` now (a copy: a push may end one). */
  of(userID: string): LatestFeed<T>[] {
    return [...(this.feeds.get(userID) ?? [])];
  }

  add(feed: LatestFeed<T>): void {
    for (const userID of feed.userIDs) {
      let feeds = this.feeds.get(userID);
      if (!feeds) this.feeds.set(userID, (feeds = new Set()));
      feeds.add(feed);
    }
  }

  remove(feed: LatestFeed<T>): void {
    for (const userID of feed.userIDs) {
      const feeds = this.feeds.get(userID);
      if (!feeds) continue;
      feeds.delete(feed);
      if (feeds.size === 0) {
        this.feeds.delete(userID);
        this.onUnwatched(userID);
      }
    }
  }

  /** Ends every feed (the server is stopping). */
  async endAll(): Promise<void> {
    const all = new Set<LatestFeed<T>>();
    for (const feeds of this.feeds.values()) for (const feed of feeds) all.add(feed);
    await Promise.all([...all].map((feed) => feed.return()));
  }
}
