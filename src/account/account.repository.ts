import type { InputDataException } from '../db/database-errors.js';
import type { SqlRunner, Statement } from '../db/sql-runner.js';
import type { TransactionScope } from '../db/transaction.js';
import type { ProfileEventType } from '../events/profile-event.entity.js';
import { DETACHED_OUTBOX, outboxInsert, type Outbox } from '../events/outbox.repository.js';

/** The channel the account tables' triggers notify when a deactivation or a tombstone changes. */
export const ACCOUNT_STATE_CHANNEL = 'account_state_changed';

export interface AccountStates {
  readonly deactivated: readonly string[];
  readonly deleted: readonly { readonly digest: string; readonly deletedSecond: number }[];
}

/** An account whose deactivation was asked for: whether it is deactivated now, and the event if it changed. */
export interface DeactivationRow {
  readonly userID: string;
  readonly deactivated: boolean;
  readonly eventID: string | null;
}

/** One event of a user's retained history, as exportMyData lists it. */
export interface HistoryEntry {
  readonly eventID: string;
  readonly eventType: ProfileEventType;
  readonly eventTime: Date;
  readonly operator: string;
  readonly changedFields: Readonly<Record<string, unknown>>;
  readonly changedCustomFields: Readonly<Record<string, string | null>>;
}

/** The data exceptions a client's IDs can cause: a NUL. */
const ID_INPUT_EXCEPTIONS: readonly InputDataException[] = ['22021'];

const LIST_DEACTIVATED: Statement = {
  name: 'account_list_deactivated',
  text: `SELECT user_id FROM user_profile WHERE deactivated_at IS NOT NULL`,
};

const LIST_TOMBSTONES: Statement = {
  name: 'account_list_tombstones',
  text: `SELECT encode(user_id_digest, 'hex') AS digest, floor(extract(epoch FROM deleted_at))::bigint AS deleted_second
    FROM account_tombstone`,
};

/**
 * Deactivates ($2 true) or reactivates ($2 false) the existing accounts among $1, each with an
 * outbox event when its state really changes, in one statement. `cur` locks the rows first, so two
 * concurrent calls agree on which one changed a row.
 */
const SET_DEACTIVATED: Omit<Statement, 'values'> = {
  name: 'account_set_deactivated',
  text: `WITH cur AS (
      SELECT user_id, deactivated_at FROM user_profile WHERE user_id = ANY($1::text[]) FOR UPDATE
    ), changed AS (
      UPDATE user_profile AS p SET deactivated_at = CASE WHEN $2::boolean THEN now() END
      FROM cur
      WHERE p.user_id = cur.user_id AND (cur.deactivated_at IS NULL) = $2::boolean
      RETURNING p.user_id
    ), evt AS (
      ${outboxInsert(
        {
          eventType: `CASE WHEN $2::boolean THEN 'ACCOUNT_DEACTIVATED' ELSE 'ACCOUNT_REACTIVATED' END::profile_event_type`,
          userID: 'changed.user_id',
          operator: '$3::text',
          eventTime: 'now()',
          changedFields: `'{}'::jsonb`,
          changedCustomFields: `'{}'::jsonb`,
          relayOwner: '$4::text',
          webhookPending: '$5::boolean',
        },
        { from: 'changed', returning: 'user_id, event_id' },
      )}
    )
    SELECT cur.user_id,
      CASE WHEN changed.user_id IS NULL THEN cur.deactivated_at IS NOT NULL ELSE $2::boolean END AS deactivated,
      evt.event_id
    FROM cur LEFT JOIN changed USING (user_id) LEFT JOIN evt USING (user_id)`,
  fromInput: ID_INPUT_EXCEPTIONS,
};

/**
 * Erases the existing accounts among $1 in one statement: the profile (standard and custom values),
 * the retained profile changes, delivered or not (the outbox rows that hold values), the rate-limit
 * window; leaves a tombstone (a digest of the ID and the time) and one ACCOUNT_DELETED event. Earlier
 * account events (deactivated, reactivated) carry no value and stay, so the webhook still gets them. Every part of a data-modifying WITH sees the table as it was
 * before the statement, so the history deleted is the old one and the new event stays.
 * The administrators' audit rows are kept: they record what administrators did.
 */
const ERASE: Omit<Statement, 'values'> = {
  name: 'account_erase',
  text: `WITH gone AS (
      DELETE FROM user_profile WHERE user_id = ANY($1::text[]) RETURNING user_id
    ), history AS (
      DELETE FROM profile_event AS e USING gone WHERE e.user_id = gone.user_id AND e.event_type = 'PROFILE_UPDATED'
    ), window_counts AS (
      DELETE FROM rate_limit_counter AS c USING gone WHERE c.key = 'user:' || gone.user_id
    ), tombstone AS (
      INSERT INTO account_tombstone (user_id_digest, deleted_at)
      SELECT sha256(convert_to(user_id, 'UTF8')), now() FROM gone
      ON CONFLICT (user_id_digest) DO UPDATE SET deleted_at = EXCLUDED.deleted_at
    ), evt AS (
      ${outboxInsert(
        {
          eventType: `'ACCOUNT_DELETED'::profile_event_type`,
          userID: 'gone.user_id',
          operator: '$2::text',
          eventTime: 'now()',
          changedFields: `'{}'::jsonb`,
          changedCustomFields: `'{}'::jsonb`,
          relayOwner: '$3::text',
          webhookPending: '$4::boolean',
        },
        { from: 'gone', returning: 'user_id, event_id' },
      )}
    )
    SELECT user_id, event_id FROM evt`,
  fromInput: ID_INPUT_EXCEPTIONS,
};

const HISTORY: Omit<Statement, 'values'> = {
  name: 'account_history',
  text: `SELECT event_id, event_type, event_time, operator, changed_fields, changed_custom_fields
    FROM profile_event WHERE user_id = $1::text ORDER BY event_id`,
  fromInput: ID_INPUT_EXCEPTIONS,
};

const EXISTING_STATES: Omit<Statement, 'values'> = {
  name: 'account_existing_states',
  text: `SELECT user_id, deactivated_at IS NOT NULL AS deactivated FROM user_profile WHERE user_id = ANY($1::text[])`,
  fromInput: ID_INPUT_EXCEPTIONS,
};

/** SQL of the account lifecycle: deactivation, erasure, tombstones and the history an export lists. */
export class AccountStateRepository {
  constructor(
    private readonly sql: SqlRunner,
    private readonly outbox: Outbox = DETACHED_OUTBOX,
  ) {}

  /** This repository inside `scope`'s transaction: its statements join it, and it wakes the relay after the commit. */
  within(scope: TransactionScope): AccountStateRepository {
    const { afterChange } = this.outbox;
    return new AccountStateRepository(this.sql.on(scope.client), {
      ...this.outbox,
      afterChange: afterChange && ((userID, eventID) => scope.afterCommit(() => afterChange(userID, eventID))),
    });
  }

  async listStates(): Promise<AccountStates> {
    const deactivated = await this.sql.query<{ user_id: string }>(LIST_DEACTIVATED);
    const deleted = await this.sql.query<{ digest: string; deleted_second: string }>(LIST_TOMBSTONES);
    return {
      deactivated: deactivated.map((row) => row.user_id),
      deleted: deleted.map((row) => ({ digest: row.digest, deletedSecond: Number(row.deleted_second) })),
    };
  }

  /** Per existing account among `userIDs`: whether it is deactivated. */
  async existingStates(userIDs: readonly string[]): Promise<Map<string, { readonly deactivated: boolean }>> {
    const rows = await this.sql.query<{ user_id: string; deactivated: boolean }>({
      ...EXISTING_STATES,
      values: [userIDs],
    });
    return new Map(rows.map((row) => [row.user_id, { deactivated: row.deactivated }]));
  }

  /** Deactivates or reactivates the existing accounts among `userIDs`; rows only for those that exist. */
  async setDeactivated(userIDs: readonly string[], deactivated: boolean, operator: string): Promise<DeactivationRow[]> {
    const rows = await this.sql.query<{ user_id: string; deactivated: boolean; event_id: string | null }>({
      ...SET_DEACTIVATED,
      values: [userIDs, deactivated, operator, this.outbox.relayOwner, this.outbox.webhookPending],
    });
    for (const row of rows) if (row.event_id !== null) this.outbox.afterChange?.(row.user_id, row.event_id);
    return rows.map((row) => ({ userID: row.user_id, deactivated: row.deactivated, eventID: row.event_id }));
  }

  /** Erases the existing accounts among `userIDs` (see ERASE); returns the IDs that were erased. */
  async erase(userIDs: readonly string[], operator: string): Promise<Set<string>> {
    const rows = await this.sql.query<{ user_id: string; event_id: string }>({
      ...ERASE,
      values: [userIDs, operator, this.outbox.relayOwner, this.outbox.webhookPending],
    });
    for (const row of rows) this.outbox.afterChange?.(row.user_id, row.event_id);
    return new Set(rows.map((row) => row.user_id));
  }

  /** The user's retained outbox events, oldest first. */
  async history(userID: string): Promise<HistoryEntry[]> {
    const rows = await this.sql.query<{
      event_id: string;
      event_type: ProfileEventType;
      event_time: Date;
      operator: string;
      changed_fields: Record<string, unknown>;
      changed_custom_fields: Record<string, string | null>;
    }>({ ...HISTORY, values: [userID] });
    return rows.map((row) => ({
      eventID: row.event_id,
      eventType: row.event_type,
      eventTime: row.event_time,
      operator: row.operator,
      changedFields: row.changed_fields,
      changedCustomFields: row.changed_custom_fields,
    }));
  }
}
