import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { ListenClient } from '../db/listen-client.js';
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

/**
 * LISTEN/NOTIFY on the application's database, through a ListenClient: after each (re)connection
 * `onConnected` catches up before the bus counts as connected again.
 */
export class PostgresEventBus implements EventBus {
  readonly kind = 'postgres';
  private readonly listener: ListenClient;
  private handlers: BusHandlers | undefined;

  constructor(
    url: string,
    private readonly channel: string,
    /** Shown in pg_stat_activity, so operators (and tests) can find the listener. */
    applicationName: string,
    logger: Logger,
    /** Where status notices are sent from (see publishStatus). */
    private readonly pool: Pool,
  ) {
    this.listener = new ListenClient({
      connection: { connectionString: url },
      applicationName,
      channels: [channel, statusChannelOf(channel)],
      name: 'profile event listener',
      logger,
      onNotification: (from, payload) => {
        if (!payload) return;
        if (from === channel) this.handlers?.onNotices(decodeNotices(payload));
        else this.handlers?.onStatusNotices(decodeStatusNotices(payload));
      },
      onConnected: async () => {
        await this.handlers?.onConnected();
      },
    });
  }

  get notifyChannel(): string {
    return this.channel;
  }

  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
    try {
      await this.listener.start();
    } catch (error) {
      // At start-up the failure is the caller's to report, and nothing retries it.
      await this.listener.stop();
      throw error;
    }
  }

  async publish(notices: readonly ChangeNotice[]): Promise<void> {
    if (notices.length === 0) return;
    await this.pool.query({
      name: 'profile_event_notify',
      text: 'SELECT pg_notify($1, message) FROM unnest($2::text[]) AS message',
      values: [this.channel, encodeNotices(notices)],
    });
  }

  async publishStatus(userIDs: readonly string[]): Promise<void> {
    if (userIDs.length === 0) return;
    await this.pool.query({
      name: 'user_status_notify',
      text: 'SELECT pg_notify($1, message) FROM unnest($2::text[]) AS message',
      values: [statusChannelOf(this.channel), encodeStatusNotices(userIDs)],
    });
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }
}
