import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { EventBus } from './event-bus.js';
import type { ProfileEventRepository } from './profile-event.repository.js';

export interface RelayOptions {
  /** This instance's ID, as written into `profile_event.relay_owner` by its own writes. */
  readonly owner: string;
  readonly pollMs: number;
  readonly takeoverMs: number;
  readonly retentionHours: number;
  readonly batchSize?: number;
}

const CLEANUP_EVERY_MS = 10 * 60_000;

/**
 * Publishes committed outbox events to the bus, in batches. A local write wakes it at once; a
 * timer catches events whose writer died before publishing them. Claiming and publishing share
 * one transaction, so an event is marked relayed only if its notice went out (for NOTIFY, the
 * notice is even sent by that commit).
 */
export class EventRelay {
  private timer: NodeJS.Timeout | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly batchSize: number;

  constructor(
    private readonly pool: Pool,
    private readonly bus: EventBus,
    private readonly events: ProfileEventRepository,
    private readonly options: RelayOptions,
    private readonly logger: Logger,
  ) {
    this.batchSize = options.batchSize ?? 500;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.timer.unref();
    this.cleanupTimer = setInterval(() => {
      this.events.deleteExpired(this.options.retentionHours).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'deleting expired profile events failed');
      });
    }, CLEANUP_EVERY_MS);
    this.cleanupTimer.unref();
    this.wake();
  }

  /** Runs a relay pass soon; calls while one runs coalesce into one more pass. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.cleanupTimer);
    await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.relayBatch()) === this.batchSize) {
        // a full batch: more may be waiting
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'relaying profile events failed; retrying on the next pass');
    }
  }

  private async relayBatch(): Promise<number> {
    const client = await this.pool.connect();
    let failure: Error | undefined;
    // A connection the server ends between two statements reports it as an 'error' event, which
    // would crash the process without a listener; the connection is then discarded on release.
    const onConnectionError = (error: Error) => (failure ??= error);
    client.on('error', onConnectionError);
    try {
      await client.query('BEGIN');
      const notices = await this.events.claimForRelay(
        client,
        this.options.owner,
        this.options.takeoverMs,
        this.batchSize,
      );
      if (notices.length > 0) await this.bus.publish(notices, client);
      await client.query('COMMIT');
      return notices.length;
    } catch (error) {
      failure = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.removeListener('error', onConnectionError);
      client.release(failure);
    }
  }
}
