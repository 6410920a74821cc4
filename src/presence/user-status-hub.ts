import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { Viewer } from '../auth/viewer.js';
import { mapDatabaseError } from '../db/database-errors.js';
import { FeedsByUser, LatestFeed } from '../shared/latest-feed.js';
import { checkStatusIDs, STATUS_LIMITS, statusKeyOf, type UserStatusView } from './presence.rules.js';
import type { UserStatusService } from './user-status.service.js';

type StatusFeed = LatestFeed<UserStatusView>;

/** Deliveries between two yields to the event loop while a batch is handed out. */
const YIELD_EVERY = 500;
const RETRY_MS = 500;

/**
 * This instance's side of `userStatusUpdated`. Status notices from the bus (any instance's
 * connections, custom statuses, sweeps) are gathered for `coalesceMs`, the users' statuses read in
 * one statement, and each status that differs from the one last seen here goes to every subscriber
 * watching that user, one shared object. So a user flapping (reconnecting quickly) within the window
 * sends nothing, and one changing back and forth sends at most one message a window.
 *
 * What was last seen per user is read when a subscription starts watching them (the reads of one
 * turn of the event loop share a statement); after the bus reconnects, or when an account is
 * deactivated, reactivated or deleted, every watched user is read again.
 */
export class UserStatusHub {
  private readonly lastSeen = new Map<string, string>();
  private readonly pending = new Set<string>();
  private readonly feedsByUser = new FeedsByUser<UserStatusView>((userID) => {
    this.lastSeen.delete(userID);
    this.pending.delete(userID);
  });
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly firstReads: DataLoader<string, UserStatusView>;

  constructor(
    private readonly statuses: UserStatusService,
    private readonly coalesceMs: number,
    private readonly logger: Logger,
  ) {
    this.firstReads = new DataLoader((userIDs) => this.statuses.readStatuses([...userIDs]), {
      cache: false,
      maxBatchSize: 1000,
      batchScheduleFn: (callback) => setImmediate(callback),
    });
  }

  /** Starts watching 1 to 100 users for `viewer`; resolves once their current statuses are known. */
  async subscribe(viewer: Viewer, userIDs: readonly string[]): Promise<AsyncIterableIterator<UserStatusView>> {
    const distinct = checkStatusIDs('userIDs', userIDs, STATUS_LIMITS.userIDsPerSubscription);
    const unknown = distinct.filter((userID) => !this.lastSeen.has(userID));
    const feed: StatusFeed = new LatestFeed(viewer, new Set(distinct), (closed) => this.feedsByUser.remove(closed));
    this.feedsByUser.add(feed);
    try {
      const read = await Promise.all(unknown.map((userID) => this.firstReads.load(userID)));
      for (const status of read) {
        if (this.feedsByUser.has(status.userID) && !this.lastSeen.has(status.userID)) {
          this.lastSeen.set(status.userID, statusKeyOf(status));
        }
      }
    } catch (error) {
      await feed.return();
      throw mapDatabaseError(error);
    }
    return feed;
  }

  onStatusNotices(userIDs: readonly string[]): void {
    let any = false;
    for (const userID of userIDs) {
      if (!this.feedsByUser.has(userID)) continue;
      this.pending.add(userID);
      any = true;
    }
    if (any) this.schedule(this.coalesceMs);
  }

  /** Reads every watched user again (the bus reconnected, or account states changed). */
  async catchUp(): Promise<void> {
    for (const userID of this.feedsByUser.users()) this.pending.add(userID);
    if (this.pending.size > 0) this.schedule(0);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.feedsByUser.endAll();
    await this.flushing;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined || this.flushing !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.pending.size > 0) this.schedule(this.coalesceMs);
      });
    }, delayMs);
  }

  private async flush(): Promise<void> {
    const userIDs = [...this.pending].filter((userID) => this.feedsByUser.has(userID));
    this.pending.clear();
    if (userIDs.length === 0) return;
    let statuses: UserStatusView[];
    try {
      statuses = await this.statuses.readStatuses(userIDs);
    } catch (error) {
      // Not dropped: the same users are read again shortly.
      this.logger.warn({ err: error }, 'reading changed statuses failed; retrying');
      for (const userID of userIDs) this.pending.add(userID);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      return;
    }
    let pushed = 0;
    for (const status of statuses) {
      const key = statusKeyOf(status);
      if (this.lastSeen.get(status.userID) === key || !this.feedsByUser.has(status.userID)) continue;
      this.lastSeen.set(status.userID, key);
      for (const feed of this.feedsByUser.of(status.userID)) {
        feed.push(status);
        if (++pushed % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }
}
