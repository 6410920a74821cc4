import type { ClientConfig } from 'pg';
import type { Logger } from 'pino';
import { NotifiedCopy } from '../db/notified-copy.js';
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
 * profile read path asks it synchronously and never queries for it. Kept current by NotifiedCopy
 * (the table's NOTIFY, each reconnection, this instance's own changes, every `refreshMs`).
 */
export class CustomFieldRegistry implements CustomFieldCatalog {
  private definitions: ReadonlyMap<string, CustomFieldDefinitionRecord> = new Map();
  private copy: NotifiedCopy | undefined;

  constructor(private readonly repository: CustomFieldRepository) {}

  get(key: string): CustomFieldDefinitionRecord | undefined {
    return this.definitions.get(key);
  }

  /** Definitions ordered by key; retired ones only when asked. */
  list(includeRetired: boolean): CustomFieldDefinitionRecord[] {
    return [...this.definitions.values()].filter((definition) => includeRetired || !definition.retired);
  }

  async start(options: RegistryStartOptions): Promise<void> {
    const skipped = await this.repository.seed(options.seedKeys, options.maxDefinitions);
    if (skipped.length > 0) {
      options.logger.warn(
        { skipped, limit: options.maxDefinitions },
        'PROFILE_CUSTOM_FIELDS: some keys were not added because the registry is full',
      );
    }
    this.copy = new NotifiedCopy(() => this.read(), {
      name: 'custom field registry',
      applicationName: 'profile-service-registry',
      channel: CUSTOM_FIELD_CHANNEL,
      refreshMs: options.refreshMs,
      listenConnection: options.listenConnection,
      logger: options.logger,
    });
    await this.copy.start();
  }

  /** Re-reads the table (see NotifiedCopy.refresh); before start, reads it once. */
  refresh(): Promise<void> {
    return this.copy?.refresh() ?? this.read();
  }

  async stop(): Promise<void> {
    await this.copy?.stop();
  }

  private async read(): Promise<void> {
    const rows = await this.repository.listAll();
    this.definitions = new Map(rows.map((row) => [row.key, row]));
  }
}
