import type { Pool, PoolClient } from 'pg';
import { mapDatabaseError } from '../db/database-errors.js';
import { inTransaction, type TransactionScope } from '../db/transaction.js';
import type { CustomFieldRead, CustomFieldWrite } from './custom-field.enums.js';
import type { CustomFieldDefinitionRecord } from './custom-field.model.js';

/** The channel the registry table's trigger notifies on every change. */
export const CUSTOM_FIELD_CHANNEL = 'profile_custom_field_changed';

/** A definition change: absent attributes are left alone (or take their defaults on creation). */
export interface DefinitionChange {
  readonly key: string;
  readonly description?: string;
  readonly maxBytes?: number;
  readonly read?: CustomFieldRead;
  readonly write?: CustomFieldWrite;
}

export type DefineResult = { readonly definition: CustomFieldDefinitionRecord } | { readonly limitReached: true };

interface DefinitionRow {
  key: string;
  description: string;
  max_bytes: number;
  read: CustomFieldRead;
  write: CustomFieldWrite;
  retired: boolean;
}

const COLUMNS = 'key, description, max_bytes, read, write, retired';

function toRecord(row: DefinitionRow): CustomFieldDefinitionRecord {
  return {
    key: row.key,
    description: row.description,
    maxBytes: row.max_bytes,
    read: row.read,
    write: row.write,
    retired: row.retired,
  };
}

/**
 * Registry writes take a SHARE ROW EXCLUSIVE lock on the table: writers (on any instance) run one
 * at a time, so the cap can be checked and honoured in the same transaction; readers never wait.
 */
export class CustomFieldRepository {
  constructor(private readonly pool: Pool) {}

  async listAll(): Promise<CustomFieldDefinitionRecord[]> {
    const { rows } = await this.pool.query<DefinitionRow>(`SELECT ${COLUMNS} FROM profile_custom_field ORDER BY key`);
    return rows.map(toRecord);
  }

  /**
   * Creates or changes a definition; refuses to create one beyond `maxDefinitions`. In `scope`'s
   * transaction when given, else in its own.
   */
  async define(change: DefinitionChange, maxDefinitions: number, scope?: TransactionScope): Promise<DefineResult> {
    return this.locked<DefineResult>(async (client) => {
      const {
        rows: [state],
      } = await client.query<{ total: number; present: boolean }>(
        `SELECT count(*)::int AS total, coalesce(bool_or(key = $1), false) AS present FROM profile_custom_field`,
        [change.key],
      );
      if (!state.present && state.total >= maxDefinitions) return { limitReached: true };
      const {
        rows: [row],
      } = await client.query<DefinitionRow>(
        `INSERT INTO profile_custom_field AS d (key, description, max_bytes, read, write)
         VALUES ($1, coalesce($2, ''), coalesce($3::int, 500),
                 coalesce($4::custom_field_read, 'PUBLIC'), coalesce($5::custom_field_write, 'OWNER'))
         ON CONFLICT (key) DO UPDATE SET
           description = coalesce($2, d.description),
           max_bytes = coalesce($3::int, d.max_bytes),
           read = coalesce($4::custom_field_read, d.read),
           write = coalesce($5::custom_field_write, d.write),
           updated_at = now()
         RETURNING ${COLUMNS}`,
        [change.key, change.description ?? null, change.maxBytes ?? null, change.read ?? null, change.write ?? null],
      );
      return { definition: toRecord(row) };
    }, scope).catch((error: unknown) => {
      // The key and the description are the client's text (NUL); any other data exception is ours.
      throw mapDatabaseError(error, ['22021']);
    });
  }

  /** Retires or restores a definition (in `scope`'s transaction when given); undefined when the key is not defined. */
  async setRetired(
    key: string,
    retired: boolean,
    scope?: TransactionScope,
  ): Promise<CustomFieldDefinitionRecord | undefined> {
    const { rows } = await (scope?.client ?? this.pool).query<DefinitionRow>(
      `UPDATE profile_custom_field SET retired = $2,
         updated_at = CASE WHEN retired IS DISTINCT FROM $2 THEN now() ELSE updated_at END
       WHERE key = $1 RETURNING ${COLUMNS}`,
      [key, retired],
    );
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  /**
   * Adds the keys that are not defined yet, with the defaults, while the cap allows; never changes
   * an existing definition. Returns the keys that were left out because of the cap.
   */
  async seed(keys: readonly string[], maxDefinitions: number): Promise<string[]> {
    if (keys.length === 0) return [];
    return this.locked(async (client) => {
      const { rows } = await client.query<{ key: string }>(
        `SELECT k AS key FROM unnest($1::text[]) WITH ORDINALITY AS s(k, ord)
         WHERE NOT EXISTS (SELECT 1 FROM profile_custom_field d WHERE d.key = s.k) ORDER BY ord`,
        [keys],
      );
      const missing = rows.map((row) => row.key);
      if (missing.length === 0) return [];
      const {
        rows: [{ total }],
      } = await client.query<{ total: number }>(`SELECT count(*)::int AS total FROM profile_custom_field`);
      const room = Math.max(0, maxDefinitions - total);
      const added = missing.slice(0, room);
      if (added.length > 0) {
        await client.query(`INSERT INTO profile_custom_field (key) SELECT unnest($1::text[])`, [added]);
      }
      return missing.slice(room);
    });
  }

  /** `work` under the registry's write lock, in `scope`'s transaction when given, else in its own. */
  private locked<T>(work: (client: PoolClient) => Promise<T>, scope?: TransactionScope): Promise<T> {
    const lockedWork = async (client: PoolClient) => {
      await client.query('LOCK TABLE profile_custom_field IN SHARE ROW EXCLUSIVE MODE');
      return work(client);
    };
    return scope === undefined ? inTransaction(this.pool, lockedWork) : lockedWork(scope.client);
  }
}
