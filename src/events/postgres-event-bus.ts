import { Client, type PoolClient } from 'pg';
import type { Logger } from 'pino';
import { decodeNotices, encodeNotices, type BusHandlers, type ChangeNotice, type EventBus } from './event-bus.js';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * LISTEN/NOTIFY on the application's database. The listener is a dedicated connection (a pooled
 * one would lose its LISTEN when returned); when it drops it is re-established with backoff, and
 * `onConnected` catches up before the bus counts as connected again.
 */
export class PostgresEventBus implements EventBus {
  readonly kind = 'postgres';
  private client: Client | undefined;
  private handlers: BusHandlers | undefined;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    /** Shown in pg_stat_activity, so operators (and tests) can find the listener. */
    private readonly applicationName: string,
    private readonly logger: Logger,
  ) {}

  get notifyChannel(): string {
    return this.channel;
  }

  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connect(true);
  }

  async publish(notices: readonly ChangeNotice[], transaction: PoolClient): Promise<void> {
    if (notices.length === 0) return;
    await transaction.query({
      name: 'profile_event_notify',
      text: 'SELECT pg_notify($1, message) FROM unnest($2::text[]) AS message',
      values: [this.channel, encodeNotices(notices)],
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(initial = false): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: this.applicationName });
    let failed = false;
    let reconnect = !initial;
    const onFailure = (error?: Error) => {
      if (failed) return;
      failed = true;
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (this.stopped || !reconnect) return;
      this.logger.warn({ err: error }, 'profile event listener lost its connection; reconnecting');
      this.scheduleReconnect();
    };
    client.on('error', onFailure);
    client.on('end', () => onFailure());
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload) {
        this.handlers?.onNotices(decodeNotices(message.payload));
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
      this.client = client;
      await this.handlers?.onConnected();
      this.reconnectDelay = RECONNECT_MIN_MS;
      reconnect = true;
    } catch (error) {
      onFailure(error as Error);
      // At start-up the failure is the caller's to report; later ones are retried.
      if (initial) throw error;
    }
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopped) void this.connect();
    }, delay);
  }
}
