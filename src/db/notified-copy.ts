import type { ClientConfig } from 'pg';
import type { Logger } from 'pino';
import { ListenClient } from './listen-client.js';

export interface NotifiedCopyOptions {
  /** What the log lines call the copy. */
  readonly name: string;
  /** Shown in pg_stat_activity for the copy's LISTEN connection. */
  readonly applicationName: string;
  /** The channel the table's trigger notifies on every change. */
  readonly channel: string;
  /** Period of the unconditional re-read: the bound on staleness when a notification is lost. */
  readonly refreshMs: number;
  /** Where to open the dedicated LISTEN connection. */
  readonly listenConnection: ClientConfig;
  readonly logger: Pick<Logger, 'warn' | 'error'>;
}

/**
 * Keeps an in-memory copy of a table current on each instance: `read` re-reads it when the table's
 * trigger sends a NOTIFY (any instance, any writer), after each (re)connection of the listener,
 * when the instance itself asks (after its own change), and every `refreshMs` regardless, which
 * bounds how stale the copy can be while the LISTEN connection is down. Reads never overlap: a
 * request during one joins it and causes one more after it, so a change committed while a read was
 * in flight is never missed.
 */
export class NotifiedCopy {
  private running: Promise<void> | undefined;
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  private listener: ListenClient | undefined;

  constructor(
    private readonly read: () => Promise<void>,
    private readonly options: NotifiedCopyOptions,
  ) {}

  /** Reads the table once, then listens and re-reads on a timer. */
  async start(): Promise<void> {
    const { options } = this;
    await this.refresh();
    this.listener = new ListenClient({
      connection: options.listenConnection,
      applicationName: options.applicationName,
      channels: [options.channel],
      name: options.name,
      logger: options.logger,
      onNotification: () => this.refreshQuietly(),
      // Changes made while no connection listened were not announced to this one.
      onConnected: () => this.refresh().catch((error: unknown) => this.logFailure(error)),
    });
    await this.listener
      .start()
      .catch((error: unknown) =>
        options.logger.warn(
          { err: error },
          `${options.name}: LISTEN connection failed; retrying, and periodic re-reads continue`,
        ),
      );
    this.timer = setInterval(() => this.refreshQuietly(), options.refreshMs);
    this.timer.unref();
  }

  refresh(): Promise<void> {
    if (this.running !== undefined) {
      this.pending = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.pending = false;
          await this.read();
        } while (this.pending);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.listener?.stop();
    await this.running?.catch(() => undefined);
  }

  private refreshQuietly(): void {
    this.refresh().catch((error: unknown) => this.logFailure(error));
  }

  private logFailure(error: unknown): void {
    this.options.logger.error({ err: error }, `${this.options.name}: re-read failed; keeping the last copy`);
  }
}
