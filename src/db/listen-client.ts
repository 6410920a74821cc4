import { Client, type ClientConfig } from 'pg';
import type { Logger } from 'pino';

/** Waits between attempts to re-establish a lost LISTEN connection. */
export const LISTEN_RECONNECT = { minMs: 100, maxMs: 5000 } as const;

/**
 * The wait before reconnect attempt `attempt` (1 for the first after a loss): exponential from
 * `minMs`, capped at `maxMs`, then 50-100% of that, so instances that lost the same server do not
 * all come back at the same moment.
 */
export function reconnectDelay(attempt: number): number {
  const ceiling = Math.min(LISTEN_RECONNECT.maxMs, LISTEN_RECONNECT.minMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export interface ListenClientOptions {
  /** Where to connect. The connection is the listener's own: a pooled one loses its LISTEN when returned. */
  readonly connection: ClientConfig;
  /** Shown in pg_stat_activity, so operators (and tests) can find the listener. */
  readonly applicationName: string;
  readonly channels: readonly string[];
  /** What the log lines call this listener. */
  readonly name: string;
  readonly logger: Pick<Logger, 'warn'>;
  onNotification(channel: string, payload: string | undefined): void;
  /**
   * Runs after each connection's LISTEN, the first one's included, before the listener counts as
   * connected: notifications sent while no connection listened are lost, and this finds what they
   * announced. Its failure counts as a lost connection.
   */
  onConnected?(): Promise<void>;
}

/**
 * A dedicated connection that LISTENs on some channels and, when it is lost, is re-established
 * (with `reconnectDelay` between attempts) until `stop`.
 */
export class ListenClient {
  private client: Client | undefined;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ListenClientOptions) {}

  /**
   * Opens the first connection. When that fails, the promise rejects with the reason (which is the
   * caller's to report), and the listener keeps trying as after any lost connection until `stop`.
   */
  start(): Promise<void> {
    return this.connect(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(first = false): Promise<void> {
    const { options } = this;
    const client = new Client({ ...options.connection, application_name: options.applicationName });
    let lost = false;
    const onLost = (error?: unknown, reported = false) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.attempt += 1;
      const delay = reconnectDelay(this.attempt);
      if (!reported) {
        options.logger.warn({ err: error, retryInMs: delay }, `${options.name}: LISTEN connection lost; reconnecting`);
      }
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => {
        if (!this.stopped) this.connect().catch(() => undefined);
      }, delay);
      this.reconnectTimer.unref();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => options.onNotification(message.channel, message.payload));
    try {
      await client.connect();
      for (const channel of options.channels) await client.query(`LISTEN "${channel}"`);
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      await options.onConnected?.();
      this.attempt = 0;
    } catch (error) {
      onLost(error, first);
      throw error;
    }
  }
}
