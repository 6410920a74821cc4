import type { Logger } from 'pino';
import { createClient, type RedisClientType } from 'redis';
import { decodeNotices, encodeNotices, type BusHandlers, type ChangeNotice, type EventBus } from './event-bus.js';

const CATCH_UP_RETRY_MIN_MS = 100;
const CATCH_UP_RETRY_MAX_MS = 5000;

/**
 * Redis pub/sub: publishing costs the database nothing, so notifying commits do not serialise on
 * Postgres' notify lock. The client reconnects and resubscribes by itself; every time the
 * subscriber is ready again, `onConnected` catches up from the outbox (retried until it succeeds).
 */
export class RedisEventBus implements EventBus {
  readonly kind = 'redis';
  private readonly publisher: RedisClientType;
  private readonly subscriber: RedisClientType;
  private handlers: BusHandlers | undefined;
  private stopped = false;
  private catchUpTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    url: string,
    private readonly channel: string,
    clientName: string,
    private readonly logger: Logger,
  ) {
    // Without the offline queue a publish fails at once while Redis is away: the relay rolls back
    // and the events are published after the reconnect.
    this.publisher = createClient({ url, name: `${clientName}:pub`, disableOfflineQueue: true });
    this.subscriber = createClient({ url, name: `${clientName}:sub`, pingInterval: 10_000 });
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (error: Error) => {
        if (!this.stopped) this.logger.warn({ err: error }, 'Redis connection error; reconnecting');
      });
    }
    this.subscriber.on('ready', () => {
      if (this.started) this.catchUp(CATCH_UP_RETRY_MIN_MS);
    });
  }

  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
    await this.publisher.connect();
    await this.subscriber.connect();
    await this.subscriber.subscribe(this.channel, (message) => {
      handlers.onNotices(decodeNotices(message));
    });
    await handlers.onConnected();
    this.started = true;
  }

  async publish(notices: readonly ChangeNotice[]): Promise<void> {
    for (const message of encodeNotices(notices)) await this.publisher.publish(this.channel, message);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.catchUpTimer);
    await Promise.all(
      [this.publisher, this.subscriber].map((client) =>
        client.isOpen ? client.close().catch(() => client.destroy()) : undefined,
      ),
    );
  }

  private catchUp(delay: number): void {
    clearTimeout(this.catchUpTimer);
    this.handlers?.onConnected().catch((error: unknown) => {
      if (this.stopped) return;
      this.logger.warn({ err: error }, 'catching up after a Redis reconnect failed; retrying');
      this.catchUpTimer = setTimeout(() => this.catchUp(Math.min(delay * 2, CATCH_UP_RETRY_MAX_MS)), delay);
    });
  }
}
