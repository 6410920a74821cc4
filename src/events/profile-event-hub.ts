import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import { mapDatabaseError } from '../db/database-errors.js';
import type { Viewer } from '../auth/viewer.js';
import { ErrorReason } from '../errors.js';
import { FeedsByUser, LatestFeed } from '../shared/latest-feed.js';
import { TurnBudget } from '../shared/turn-budget.js';
import { badInput, checkUserIDList } from '../shared/input-rules.js';
import { createProfileLoader } from '../user/user.loaders.js';
import type { UserProfileRepository } from '../user/user.repository.js';
import type { UserProfileService } from '../user/user.service.js';
import { audienceOf, type UserView as User } from '../user/user.presenter.js';
import type { ChangeNotice } from './event-bus.js';
import type { ProfileEventRepository } from './profile-event.repository.js';

/**
 * The outbox event each delivered profile reflects, as its message's cursor (`extensions.cursor`):
 * a client that reconnects passes the last one it saw as `since`.
 */
const CURSORS = new WeakMap<object, string>();
export const cursorOf = (delivered: object): string | undefined => CURSORS.get(delivered);

/** Whether `held` reflects a later event than `user` (both as this hub delivers them, with cursors). */
function isNewer(held: object | undefined, user: object): boolean {
  const heldCursor = held === undefined ? undefined : cursorOf(held);
  const cursor = cursorOf(user);
  return heldCursor !== undefined && cursor !== undefined && BigInt(heldCursor) > BigInt(cursor);
}

/** A cursor: an event ID, a positive 64-bit integer in decimal. */
const CURSOR = /^[1-9][0-9]{0,18}$/;

/**
 * Deliveries per turn of the event loop, for a batch handed out and resumed backlogs alike. Each
 * writes its socket there and then (see LatestFeed.consume), some 40 µs at ten thousand sockets:
 * 100 keep a turn of the loop to a few milliseconds (500 measured 25 ms more worst delay at 10,000
 * sockets).
 */
const DELIVERIES_PER_TURN = 100;

/** How far before a resume cursor's event a change still counts as possibly missed. */
const RESUME_SLACK_MS = 60_000;

/** Users per statement when catching up. */
const CHUNK = 1000;
/** Resuming subscriptions answered together, at most (each names up to 100 users). */
const RESUME_BATCH = 500;

/** A subscription resuming from a cursor. */
interface Resumption {
  readonly viewer: Viewer;
  readonly userIDs: readonly string[];
  readonly since: bigint;
}
const FLUSH_RETRY_MS = 500;

type ProfileFeed = LatestFeed<User>;

/**
 * This instance's side of `profileUpdated`: which users its subscribers watch, and the last event
 * it delivered for each. Notices from the bus are filtered by that watermark (so duplicates and
 * stale notices are dropped), gathered, and answered in batches: one statement loads every
 * changed profile, and each subscriber gets them presented as `users(ids:)` would for its viewer.
 *
 * After the bus (re)connects, `catchUp` compares the watermarks with the outbox and delivers every
 * user that changed meanwhile, so a dropped listener loses nothing: subscribers are never stale.
 */
export class ProfileEventHub {
  private readonly feedsByUser = new FeedsByUser<User>((userID) => {
    this.delivered.delete(userID);
    this.changed.delete(userID);
  });
  /** Per watched user: the newest event this instance delivered (or the newest when watching began). */
  private readonly delivered = new Map<string, bigint>();
  private readonly changed = new Set<string>();
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /**
   * Each user's newest event, for subscriptions starting: the look-ups of one tick share one
   * statement, so a storm of (re)subscriptions to the same users costs one query, not one each.
   */
  private readonly latestEvents: DataLoader<string, bigint>;
  /**
   * The backlogs of the subscriptions resuming in one turn of the event loop, found together (see
   * `resumeBatch`): after a restart, every socket resubscribes within seconds.
   */
  private readonly resumes: DataLoader<Resumption, readonly User[]>;
  /**
   * The deliveries this hub may make in one turn of the event loop. A resumed subscription's
   * backlog is written to its socket the moment it is handed out, and after a restart hundreds
   * resume in one turn (one resume batch): without a shared budget their tens of thousands of
   * deliveries ran in that one turn, holding every request for seconds.
   */
  private readonly deliveries = new TurnBudget(DELIVERIES_PER_TURN);

  constructor(
    private readonly profiles: UserProfileRepository,
    private readonly events: ProfileEventRepository,
    private readonly profileService: UserProfileService,
    private readonly logger: Logger,
  ) {
    this.latestEvents = new DataLoader(
      async (userIDs) => {
        const latest = await this.events.latestEventIDs([...new Set(userIDs)]);
        return userIDs.map((userID) => latest.get(userID) ?? 0n);
      },
      // One batch per turn of the event loop: the subscribe messages of every socket read in one
      // turn share it, not only those of one microtask chain.
      { cache: false, maxBatchSize: CHUNK, batchScheduleFn: (callback) => setImmediate(callback) },
    );
    this.resumes = new DataLoader((requests) => this.resumeBatch(requests), {
      cache: false,
      maxBatchSize: RESUME_BATCH,
      batchScheduleFn: (callback) => setImmediate(callback),
    });
  }

  /**
   * Starts watching `userIDs` for `viewer`. Resolves once every change committed from then on is
   * delivered: the iterator is only handed out after the watermarks are read.
   */
  async subscribe(
    viewer: Viewer,
    userIDs: readonly string[],
    since?: string | null,
  ): Promise<AsyncIterableIterator<User>> {
    const distinct = checkUserIDList('userIDs', userIDs);
    if (distinct.length === 0) throw badInput('userIDs', ErrorReason.INVALID_VALUE, 'names no user');
    if (since !== undefined && since !== null && (!CURSOR.test(since) || BigInt(since) > 2n ** 63n - 1n)) {
      throw badInput('since', ErrorReason.INVALID_VALUE, 'is not a cursor this subscription sent');
    }
    const unwatched = distinct.filter((userID) => !this.feedsByUser.has(userID));
    const feed: ProfileFeed = new LatestFeed(viewer, new Set(distinct), (closed) => this.feedsByUser.remove(closed));
    this.feedsByUser.add(feed);
    if (unwatched.length > 0) {
      try {
        const latest = await Promise.all(unwatched.map((userID) => this.latestEvents.load(userID)));
        unwatched.forEach((userID, index) => {
          const base = latest[index];
          const seen = this.delivered.get(userID);
          if (this.feedsByUser.has(userID) && (seen === undefined || base > seen)) this.delivered.set(userID, base);
        });
      } catch (error) {
        await feed.return();
        // A database that is down or too slow is SERVICE_UNAVAILABLE, as on every other path.
        throw mapDatabaseError(error);
      }
    }
    if (since !== undefined && since !== null) {
      let backlog: readonly User[];
      try {
        backlog = await this.resumes.load({ viewer, userIDs: distinct, since: BigInt(since) });
      } catch (error) {
        await feed.return();
        throw mapDatabaseError(error);
      }
      // A change delivered meanwhile may be newer than the backlog's state of that user.
      for (const user of backlog) if (!isNewer(feed.held(user.userID), user)) feed.push(user);
      // The backlog goes out when the feed is handed out: in a turn with room for it.
      if (backlog.length > 0) await this.deliveries.take(backlog.length);
    }
    return feed;
  }

  /**
   * For each resumed subscription, the current state of every watched user changed since its
   * cursor: since RESUME_SLACK before that event, as an event with a lower ID may commit after one
   * with a higher ID (a user delivered twice is harmless; one missed is not). When the cursor's
   * event is no longer in the outbox (older than the retention), every watched user. A user
   * changed then if its newest event is that recent; its cursor is its newest event.
   *
   * Three statements for the whole batch (the cursors' times, the users' newest events, their
   * profiles), where each subscription used to cost three of its own: ten thousand resuming at
   * once ran the pool dry and were refused SERVICE_UNAVAILABLE. Each changed profile is presented
   * once per audience for all of them, so the socket layer serializes it once too.
   */
  private async resumeBatch(requests: readonly Resumption[]): Promise<(readonly User[])[]> {
    const [cursorTimes, latest] = await Promise.all([
      this.events.eventMicros([...new Set(requests.map((request) => request.since))]),
      this.events.latestEvents([...new Set(requests.flatMap((request) => request.userIDs))]),
    ]);
    const slackMicros = BigInt(RESUME_SLACK_MS) * 1000n;
    const backlogs = requests.map(({ userIDs, since }) => {
      const cursorTime = cursorTimes.get(since);
      if (cursorTime === undefined) return userIDs;
      return userIDs.filter((userID) => (latest.get(userID)?.micros ?? -1n) >= cursorTime - slackMicros);
    });
    const ids = [...new Set(backlogs.flat())];
    if (ids.length === 0) return backlogs.map(() => []);
    const loader = createProfileLoader(this.profiles);
    const records = new Map((await Promise.all(ids.map((userID) => loader.load(userID)))).map((r, i) => [ids[i], r]));
    const deletedAt = await this.deletionTimes(
      ids.filter((userID) => records.get(userID) === null),
      (userID) => latest.get(userID)?.eventID,
    );
    const presented = new Map<string, User>();
    return requests.map((request, index) =>
      backlogs[index].map((userID) => {
        const audience = audienceOf(request.viewer, userID);
        const key = `${audience}\u0000${userID}`;
        let user = presented.get(key);
        if (user === undefined) {
          user = this.profileService.presentUpdate(
            records.get(userID) ?? null,
            userID,
            audience,
            () => deletedAt.get(userID) ?? new Date(),
          );
          const cursor = latest.get(userID)?.eventID;
          if (cursor !== undefined) CURSORS.set(user, String(cursor));
          presented.set(key, user);
        }
        return user;
      }),
    );
  }

  /**
   * When each of these deleted accounts was deleted: the time of its latest event (`eventOf`), its
   * deletion; an account's removal is dated by it. One statement; now, for an event no longer kept.
   */
  private async deletionTimes(
    userIDs: readonly string[],
    eventOf: (userID: string) => bigint | undefined,
  ): Promise<Map<string, Date>> {
    if (userIDs.length === 0) return new Map();
    const times = await this.events
      .eventTimes(userIDs.map((userID) => eventOf(userID) ?? 0n))
      .catch(() => new Map<string, Date>());
    return new Map(userIDs.map((userID) => [userID, times.get(String(eventOf(userID))) ?? new Date()]));
  }

  onNotices(notices: readonly ChangeNotice[]): void {
    let any = false;
    for (const { eventID, userID } of notices) {
      if (!this.feedsByUser.has(userID)) continue;
      const id = BigInt(eventID);
      const seen = this.delivered.get(userID);
      if (seen !== undefined && id <= seen) continue;
      this.delivered.set(userID, id);
      this.changed.add(userID);
      any = true;
    }
    if (any) this.scheduleFlush();
  }

  /** Delivers every watched user whose newest outbox event is newer than the one last delivered. */
  async catchUp(): Promise<void> {
    const watched = this.feedsByUser.users();
    let any = false;
    for (let i = 0; i < watched.length; i += CHUNK) {
      const latest = await this.events.latestEventIDs(watched.slice(i, i + CHUNK));
      for (const [userID, id] of latest) {
        const seen = this.delivered.get(userID);
        if (seen === undefined || id <= seen || !this.feedsByUser.has(userID)) continue;
        this.delivered.set(userID, id);
        this.changed.add(userID);
        any = true;
      }
    }
    if (any) this.scheduleFlush();
  }

  /** Ends every subscription (the server is stopping). */
  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    await this.feedsByUser.endAll();
    await this.flushing;
  }

  private scheduleFlush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    // setImmediate gathers the notices of one burst into one batch.
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flush())
      .finally(() => {
        this.flushing = undefined;
        if (this.flushAgain) {
          this.flushAgain = false;
          this.scheduleFlush();
        }
      });
  }

  private async flush(): Promise<void> {
    const userIDs = [...this.changed].filter((userID) => this.feedsByUser.has(userID));
    this.changed.clear();
    if (userIDs.length === 0) return;
    // A request's loader, as users(ids:) uses: one statement loads every changed profile, and each
    // subscriber's presenting below reads them from its cache.
    const loader = createProfileLoader(this.profiles);
    let records: Awaited<ReturnType<typeof loader.load>>[];
    try {
      records = await Promise.all(userIDs.map((userID) => loader.load(userID)));
    } catch (error) {
      // Not dropped: the same users are loaded again shortly.
      this.logger.warn({ err: error }, 'loading changed profiles failed; retrying');
      for (const userID of userIDs) this.changed.add(userID);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.scheduleFlush(), FLUSH_RETRY_MS);
      return;
    }
    const deletedAt = await this.deletionTimes(
      userIDs.filter((_, index) => records[index] === null),
      (userID) => this.delivered.get(userID),
    );
    // Each changed profile is presented once per audience (its owner, administrators, anyone else)
    // and that one object goes to every subscriber in the audience: the socket layer then executes
    // a subscription's selection once per object and selection, not once per subscriber.
    const presented = new Map<string, User>();
    for (let index = 0; index < userIDs.length; index += 1) {
      const userID = userIDs[index];
      const cursor = this.delivered.get(userID);
      for (const feed of this.feedsByUser.of(userID)) {
        const audience = audienceOf(feed.viewer, userID);
        const key = `${audience}\u0000${userID}`;
        let user = presented.get(key);
        if (user === undefined) {
          user = this.profileService.presentUpdate(
            records[index],
            userID,
            audience,
            () => deletedAt.get(userID) ?? new Date(),
          );
          if (cursor !== undefined) CURSORS.set(user, String(cursor));
          presented.set(key, user);
        }
        // A long batch lets requests and other sockets in between.
        const turn = this.deliveries.take();
        if (turn !== undefined) await turn;
        feed.push(user);
      }
    }
  }
}
