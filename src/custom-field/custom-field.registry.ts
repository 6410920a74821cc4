import { Client, type ClientConfig } from 'pg';
import type { Logger } from 'pino';
import { CUSTOM_FIELD_CHANNEL, type CustomFieldRepository } from './custom-field.repository.js';
import type { CustomFieldCatalog, CustomFieldDefinitionRecord } from './custom-field.types.js';

export interface RegistryStartOptions {
  /** Keys from PROFILE_CUSTOM_FIELDS, added when missing. */
  readonly seedKeys: readonly string[];
  readonly maxDefinitions: number;
  /** Period of the unconditional re-read: the bound on staleness when a notification is lost. */
  readonly refreshMs: number;
  /** Where to open the dedicated LISTEN connection. */
  readonly listenConnection: ClientConfig;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * The custom field registry as each instance sees it: an in-memory copy of the table, so the
 * profile read path asks it synchronously and never queries for it. The copy is re-read when
 * the table's trigger sends a NOTIFY (any instance, any writer), after this instance changes it,
 * and every `refreshMs` regardless, which bounds how stale it can be if the LISTEN connection
 * is down.
 */
export class CustomFieldRegistry implements CustomFieldCatalog {
  private definitions: ReadonlyMap<string, CustomFieldDefinitionRecord> = new Map();
  private running: Promise<void> | undefined;
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private listener: Client | undefined;
  private stopped = false;
  private options: RegistryStartOptions | undefined;
  /** How many times the table was read; the request path never adds to it. */
  reads = 0;

  constructor(private readonly repository: CustomFieldRepository) {}

  get(key: string): CustomFieldDefinitionRecord | undefined {
    return this.definitions.get(key);
  }

  /** Definitions ordered by key; retired ones only when asked. */
  list(includeRetired: boolean): CustomFieldDefinitionRecord[] {
    return [...this.definitions.values()].filter((definition) => includeRetired || !definition.retired);
  }

  /** Number of definitions, retired ones included. */
  get size(): number {
    return this.definitions.size;
  }

  async start(options: RegistryStartOptions): Promise<void> {
    this.options = options;
    const skipped = await this.repository.seed(options.seedKeys, options.maxDefinitions);
    if (skipped.length > 0) {
      options.logger.warn(
        { skipped, limit: options.maxDefinitions },
        'PROFILE_CUSTOM_FIELDS: some keys were not added because the registry is full',
      );
    }
    await this.refresh();
    await this.listen();
    this.timer = setInterval(() => this.refreshQuietly(), options.refreshMs);
    this.timer.unref();
  }

  /**
   * Re-reads the table. Calls during a read join it and cause one more read after it, so a
   * change committed while a read was in flight is never missed.
   */
  refresh(): Promise<void> {
    if (this.running !== undefined) {
      this.pending = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.pending = false;
          this.reads += 1;
          const rows = await this.repository.listAll();
          this.definitions = new Map(rows.map((row) => [row.key, row]));
        } while (this.pending);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.running?.catch(() => undefined);
  }

  private refreshQuietly(): void {
    this.refresh().catch((error: unknown) =>
      this.options?.logger.error({ err: error }, 'custom field registry: re-read failed; keeping the last copy'),
    );
  }

  private async listen(): Promise<void> {
    const options = this.options!;
    const client = new Client({ ...options.listenConnection, application_name: 'profile-service-registry' });
    const lost = (error?: unknown) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      options.logger.warn(
        { err: error, retryInMs: options.refreshMs },
        'custom field registry: LISTEN connection lost; periodic re-reads continue',
      );
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', () => this.refreshQuietly());
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CUSTOM_FIELD_CHANNEL}`);
    } catch (error) {
      lost(error);
      return;
    }
    // Changes made while the connection was being opened were not announced to it.
    this.refreshQuietly();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopped) void this.listen();
    }, this.options!.refreshMs);
    this.reconnectTimer.unref();
  }
}
