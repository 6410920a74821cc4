/**
 * The `profile_event` outbox as the statements that change profiles see it: the row they write
 * in the same statement as the change (so an event exists exactly when a change commits), and
 * who to tell once it committed. The relay, the hub and the webhook read the rows; only this
 * module knows how one is written.
 */
export interface Outbox {
  /** This instance's relay publishes the events it writes first (see src/events/event-relay.ts). */
  readonly relayOwner: string;
  /** Whether events wait for webhook delivery (true when a webhook URL is configured). */
  readonly webhookPending: boolean;
  /** Called after a change committed, e.g. to wake the local relay. */
  readonly afterChange?: (userID: string, eventID: string) => void;
}

/** An outbox that records nothing beyond the rows: no relay owner, no webhook, nobody to wake. */
export const DETACHED_OUTBOX: Outbox = { relayOwner: 'unknown', webhookPending: false };

/** The SQL expressions of one outbox row, each evaluated per row of `from`. */
export interface OutboxRow {
  /** The event's type (a profile_event_type); PROFILE_UPDATED when absent. */
  readonly eventType?: string;
  readonly userID: string;
  readonly operator: string;
  readonly eventTime: string;
  /** A jsonb object of the standard fields whose value changed, with their new values. */
  readonly changedFields: string;
  /** A jsonb object of the custom fields whose value changed (their new value, or null). */
  readonly changedCustomFields: string;
  readonly relayOwner: string;
  readonly webhookPending: string;
}

/**
 * The INSERT (for a data-modifying CTE) writing one outbox row per row of `from` [where `where`],
 * returning `returning`.
 */
export function outboxInsert(row: OutboxRow, source: { from: string; where?: string; returning: string }): string {
  const [typeColumn, typeValue] = row.eventType === undefined ? ['', ''] : ['event_type, ', `${row.eventType}, `];
  return `INSERT INTO profile_event (${typeColumn}user_id, operator, event_time, changed_fields, changed_custom_fields, relay_owner, webhook_pending)
      SELECT ${typeValue}${row.userID}, ${row.operator}, ${row.eventTime}, ${row.changedFields}, ${row.changedCustomFields}, ${row.relayOwner}, ${row.webhookPending}
      FROM ${source.from}${source.where === undefined ? '' : `\n      WHERE ${source.where}`}
      RETURNING ${source.returning}`;
}
