import type { ClientConfig } from 'pg';
import type { Logger } from 'pino';
import { ListenClient } from '../db/listen-client.js';
import { CUSTOM_FIELD_CHANNEL, type CustomFieldRepository } from './custom-field.repository.js';
import type { CustomFieldCatalog, CustomFieldDefinitionRecord } from './custom-field.model.js';

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
 * the table's trigger sends a NOTIFY (any instance, any writer), after each (re)connection of its
 * listener, after this instance changes it, and every `refreshMs` regardless, which bounds how
 * stale it can be while the LISTEN connection is down.
 */
export class CustomFieldRegistry implements CustomFieldCatalog {
  private definitions: ReadonlyMap<string, CustomFieldDefinitionRecord> = new Map();
  private running: Promise<void> | undefined;
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  private listener: ListenClient | undefined;
  private options: RegistryStartOptions | undefined;

  constructor(private readonly repository: CustomFieldRepository) {}

  get(key: string): CustomFieldDefinitionRecord | undefined {
    return this.definitions.get(key);
  }

  /** Definitions ordered by key; retired ones only when asked. */
  list(includeRetired: boolean): CustomFieldDefinitionRecord[] {
    return [...this.definitions.values()].filter((definition) => includeRetired || !definition.retired);
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
    this.listener = new ListenClient({
      connection: options.listenConnection,
      applicationName: 'profile-service-registry',
      channels: [CUSTOM_FIELD_CHANNEL],
      name: 'custom field registry',
      logger: options.logger,
      onNotification: () => this.refreshQuietly(),
      // Changes made while no connection listened were not announced to this one.
      onConnected: () => this.refresh().catch((error: unknown) => this.logRefreshFailure(error)),
    });
    await this.listener
      .start()
      .catch((error: unknown) =>
        options.logger.warn(
          { err: error },
          'custom field registry: LISTEN connection failed; retrying, and periodic re-reads continue',
        ),
      );
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
    clearInterval(this.timer);
    await this.listener?.stop();
    await this.running?.catch(() => undefined);
  }

  private refreshQuietly(): void {
    this.refresh().catch((error: unknown) => this.logRefreshFailure(error));
  }

  private logRefreshFailure(error: unknown): void {
    this.options?.logger.error({ err: error }, 'custom field registry: re-read failed; keeping the last copy');
  }
}
