import type { Logger } from 'pino';
import { CoalescingPoller } from '../coalescing-poller.js';
import type { EventBus } from './event-bus.js';
import type { ProfileEventRepository } from './profile-event.repository.js';

export interface RelayOptions {
  /** This instance's ID, as written into `profile_event.relay_owner` by its own writes. */
  readonly owner: string;
  readonly pollMs: number;
  readonly takeoverMs: number;
  readonly retentionHours: number;
  /** How often expired events are pruned. */
  readonly pruneMs: number;
  readonly batchSize?: number;
}

/** Expired events deleted per statement: each holds its row locks only that long. */
const PRUNE_BATCH = 5000;
/** A pruning pass stops after this long and goes on at the next one, so it never monopolises a connection. */
const PRUNE_PASS_MS = 2000;

/**
 * Publishes committed outbox events to the bus, in batches. A local write wakes it at once; a
 * timer catches events whose writer died before publishing them. An event is marked relayed only
 * once its notice went out: for NOTIFY, the statement claiming the batch sends the notices by its
 * commit; for another bus, the batch is read, published, then marked (a crash in between publishes
 * it again, a duplicate subscribers drop).
 */
/**
 * Under a stream of writes, passes start at most this often: each then publishes a batch, and
 * commits (each one a WAL flush) stay few. A subscriber waits at most this much longer.
 */
const RELAY_MIN_GAP_MS = 25;

export class EventRelay {
  private cleanupTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<number> | undefined;
  private readonly poller: CoalescingPoller;
  private readonly batchSize: number;

  constructor(
    private readonly bus: EventBus,
    private readonly events: ProfileEventRepository,
    private readonly options: RelayOptions,
    private readonly logger: Logger,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.poller = new CoalescingPoller(options.pollMs, () => this.drain(), RELAY_MIN_GAP_MS);
  }

  start(): void {
    this.cleanupTimer = setInterval(() => {
      if (this.pruning !== undefined) return;
      this.pruning = this.pruneExpired()
        .catch((error: unknown) => {
          this.logger.warn({ err: error }, 'deleting expired profile events failed');
          return 0;
        })
        .finally(() => (this.pruning = undefined));
    }, this.options.pruneMs);
    this.cleanupTimer.unref();
    this.poller.start();
  }

  /**
   * Deletes every expired event (published, no webhook delivery waiting, older than the retention)
   * in batches of PRUNE_BATCH, yielding to other work between batches, for up to PRUNE_PASS_MS;
   * returns how many it deleted. At PRUNE_PASS_MS per `pruneMs` it removes far more rows a second
   * than the write path can add, so the outbox stays at the retention's worth of events.
   */
  async pruneExpired(): Promise<number> {
    const until = Date.now() + PRUNE_PASS_MS;
    let deleted = 0;
    for (;;) {
      const batch = await this.events.deleteExpired(this.options.retentionHours, PRUNE_BATCH);
      deleted += batch;
      if (batch < PRUNE_BATCH || Date.now() > until || this.poller.isStopped) return deleted;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Runs a relay pass soon; calls while one runs coalesce into one more pass. */
  wake(): void {
    this.poller.wake();
  }

  async stop(): Promise<void> {
    clearInterval(this.cleanupTimer);
    await this.poller.stop();
    await this.pruning;
  }

  private async drain(): Promise<void> {
    try {
      while (!this.poller.isStopped && (await this.relayBatch()) === this.batchSize) {
        // a full batch: more may be waiting
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'relaying profile events failed; retrying on the next pass');
    }
  }

  private relayBatch(): Promise<number> {
    const channel = this.bus.notifyChannel;
    if (channel !== undefined) {
      // One round trip instead of four (BEGIN, claim, notify, COMMIT) per pass.
      return this.events.claimAndNotify(this.options.owner, this.options.takeoverMs, this.batchSize, channel);
    }
    return this.publishBatch();
  }

  /**
   * One statement before the publish and one after, no transaction: what used to be BEGIN, claim,
   * publish, COMMIT, with the batch's rows locked while Redis answered.
   */
  private async publishBatch(): Promise<number> {
    const notices = await this.events.unrelayed(this.options.owner, this.options.takeoverMs, this.batchSize);
    if (notices.length === 0) return 0;
    await this.bus.publish(notices);
    await this.events.markRelayed(notices.map((notice) => notice.eventID));
    return notices.length;
  }
}
