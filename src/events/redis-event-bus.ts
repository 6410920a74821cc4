import type { Logger } from 'pino';
import type { RedisClientType } from 'redis';
import {
  decodeNotices,
  decodeStatusNotices,
  encodeNotices,
  encodeStatusNotices,
  statusChannelOf,
  type BusHandlers,
  type ChangeNotice,
  type EventBus,
} from './event-bus.js';

const CATCH_UP_RETRY_MIN_MS = 100;
const CATCH_UP_RETRY_MAX_MS = 5000;

/**
 * Redis pub/sub: publishing costs the database nothing, so notifying commits do not serialise on
 * Postgres' notify lock. The client reconnects and resubscribes by itself; every time the
 * subscriber is ready again, `onConnected` catches up from the outbox (retried until it succeeds).
 *
 * The redis package is loaded on start, only by instances that use it: its modules alone held about
 * 10 MiB of every instance's memory.
 */
export class RedisEventBus implements EventBus {
  readonly kind = 'redis';
  private clients: { readonly publisher: RedisClientType; readonly subscriber: RedisClientType } | undefined;
  private handlers: BusHandlers | undefined;
  private stopped = false;
  private catchUpTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly clientName: string,
    private readonly logger: Logger,
  ) {}

  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
    // require rather than import(): the test runner's module system cannot run a dynamic import.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createClient } = require('redis') as typeof import('redis');
    const { url, clientName } = this;
    // Without the offline queue a publish fails at once while Redis is away: the relay rolls back
    // and the events are published after the reconnect.
    const publisher: RedisClientType = createClient({ url, name: `${clientName}:pub`, disableOfflineQueue: true });
    const subscriber: RedisClientType = createClient({ url, name: `${clientName}:sub`, pingInterval: 10_000 });
    this.clients = { publisher, subscriber };
    for (const client of [publisher, subscriber]) {
      client.on('error', (error: Error) => {
        if (!this.stopped) this.logger.warn({ err: error }, 'Redis connection error; reconnecting');
      });
    }
    subscriber.on('ready', () => {
      if (this.started) this.catchUp(CATCH_UP_RETRY_MIN_MS);
    });
    await publisher.connect();
    await subscriber.connect();
    await subscriber.subscribe(this.channel, (message) => {
      handlers.onNotices(decodeNotices(message));
    });
    await subscriber.subscribe(statusChannelOf(this.channel), (message) => {
      handlers.onStatusNotices(decodeStatusNotices(message));
    });
    await handlers.onConnected();
    this.started = true;
  }

  async publish(notices: readonly ChangeNotice[]): Promise<void> {
    if (this.clients === undefined) throw new Error('the Redis event bus is not started');
    // Issued together, the messages of a batch go out pipelined: one round trip.
    const { publisher } = this.clients;
    await Promise.all(encodeNotices(notices).map((message) => publisher.publish(this.channel, message)));
  }

  async publishStatus(userIDs: readonly string[]): Promise<void> {
    if (this.clients === undefined) throw new Error('the Redis event bus is not started');
    for (const message of encodeStatusNotices(userIDs)) {
      await this.clients.publisher.publish(statusChannelOf(this.channel), message);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.catchUpTimer);
    if (this.clients === undefined) return;
    const { publisher, subscriber } = this.clients;
    await Promise.all(
      [publisher, subscriber].map((client) =>
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
