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

  constructor(
    /** Who watches (a profile is shown to its audience). */
    readonly viewer: Viewer,
    readonly userIDs: ReadonlySet<string>,
    private readonly onClose: (feed: LatestFeed<T>) => void,
  ) {}

  push(value: T): void {
    if (this.done) return;
    if (this.wake) {
      const wake = this.wake;
      this.wake = undefined;
      wake({ value, done: false });
      return;
    }
    this.waiting.delete(value.userID);
    this.waiting.set(value.userID, value);
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

  return(): Promise<IteratorResult<T>> {
    if (!this.done) {
      this.done = true;
      this.waiting.clear();
      this.wake?.({ value: undefined, done: true });
      this.wake = undefined;
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
