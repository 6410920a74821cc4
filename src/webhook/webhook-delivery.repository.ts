import type { ProfileEventType } from '../events/profile-event.entity.js';
import type { Pool, PoolClient } from 'pg';

/** An outbox event as the webhook sends it. */
export interface WebhookEvent {
  readonly eventID: string;
  readonly eventType: ProfileEventType;
  readonly userID: string;
  readonly operator: string;
  readonly eventTime: Date;
  readonly changedFields: Record<string, unknown>;
  readonly changedCustomFields: Record<string, string | null>;
}

/** One attempt this instance may make: the event is leased to it until the lease ends. */
export interface DeliveryClaim {
  readonly event: WebhookEvent;
  /** 1 for the first attempt since the event was written or retried. */
  readonly attempt: number;
  readonly lease: string;
}

export interface DeliveryOutcome {
  readonly eventID: string;
  readonly lease: string;
  readonly ok: boolean;
  /** The last attempt failed: the event becomes a dead letter instead of waiting for a retry. */
  readonly dead: boolean;
  readonly retryInMs: number;
  readonly error: string | null;
}

/** An event whose attempts ran out. */
export interface DeadLetter {
  readonly eventID: string;
  readonly userID: string;
  readonly operator: string;
  readonly eventTime: Date;
  readonly attempts: number;
  readonly lastError: string;
  readonly deadAt: Date;
}

interface ClaimRow {
  event_id: string;
  event_type: ProfileEventType;
  user_id: string;
  operator: string;
  event_time: Date;
  changed_fields: Record<string, unknown>;
  changed_custom_fields: Record<string, string | null>;
  webhook_attempts: number;
  webhook_lease: string | null;
}

interface DeadLetterRow {
  event_id: string;
  user_id: string;
  operator: string;
  event_time: Date;
  webhook_attempts: number;
  webhook_last_error: string;
  webhook_dead_at: Date;
}

const LAPSED_LEASE = 'no outcome recorded before the lease ended';

/**
 * The webhook's state in the `profile_event` outbox. Every method is one short statement: no
 * transaction or row lock outlives it, however long a receiver takes to answer.
 */
export class WebhookDeliveryRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Leases the oldest due event of up to `limit` users whose earlier events are all delivered or
   * dead: counts the attempt and makes the event due again only after `leaseMs`, so no one else
   * sends it meanwhile and it is picked up again if this instance stops before recording the
   * outcome. An event due with its attempts already spent (its last attempt's lease ran out)
   * becomes a dead letter instead of being leased.
   */
  async claim(
    limit: number,
    leaseMs: number,
    maxAttempts: number,
  ): Promise<{ readonly claims: DeliveryClaim[]; readonly deadLettered: number }> {
    const { rows } = await this.pool.query<ClaimRow>({
      name: 'profile_event_webhook_claim',
      text: `WITH due AS (
          SELECT e.event_id, e.webhook_attempts >= $3 AS exhausted
          FROM profile_event AS e
          WHERE e.webhook_pending AND e.webhook_dead_at IS NULL
            AND (e.webhook_next_attempt_at IS NULL OR e.webhook_next_attempt_at <= now())
            AND NOT EXISTS (
              SELECT 1 FROM profile_event AS earlier
              WHERE earlier.webhook_pending AND earlier.webhook_dead_at IS NULL
                AND earlier.user_id = e.user_id AND earlier.event_id < e.event_id)
          ORDER BY e.event_id
          LIMIT $1
          FOR UPDATE OF e SKIP LOCKED
        )
        UPDATE profile_event AS e SET
          webhook_attempts = e.webhook_attempts + CASE WHEN due.exhausted THEN 0 ELSE 1 END,
          webhook_next_attempt_at = CASE WHEN due.exhausted THEN NULL ELSE now() + $2::integer * interval '1 millisecond' END,
          webhook_lease = CASE WHEN due.exhausted THEN NULL ELSE gen_random_uuid() END,
          webhook_dead_at = CASE WHEN due.exhausted THEN now() END,
          webhook_last_error = CASE WHEN e.webhook_lease IS NULL THEN e.webhook_last_error ELSE $4 END
        FROM due
        WHERE e.event_id = due.event_id
        RETURNING e.event_id, e.event_type, e.user_id, e.operator, e.event_time, e.changed_fields, e.changed_custom_fields,
          e.webhook_attempts, e.webhook_lease`,
      values: [limit, leaseMs, maxAttempts, LAPSED_LEASE],
    });
    const claims: DeliveryClaim[] = [];
    for (const row of rows) {
      if (row.webhook_lease === null) continue;
      claims.push({
        event: {
          eventID: row.event_id,
          eventType: row.event_type,
          userID: row.user_id,
          operator: row.operator,
          eventTime: row.event_time,
          changedFields: row.changed_fields,
          changedCustomFields: row.changed_custom_fields,
        },
        attempt: row.webhook_attempts,
        lease: row.webhook_lease,
      });
    }
    return { claims, deadLettered: rows.length - claims.length };
  }

  /**
   * Records the outcomes of leased attempts, each only while its lease is still the event's (a
   * lease that ran out and was taken by another instance belongs to that instance now).
   */
  async record(
    outcomes: readonly DeliveryOutcome[],
  ): Promise<{ readonly recorded: number; readonly deadLettered: number }> {
    const { rows } = await this.pool.query<{ event_id: string; dead: boolean }>({
      name: 'profile_event_webhook_record',
      text: `UPDATE profile_event AS e SET
          webhook_pending = NOT r.ok,
          webhook_delivered_at = CASE WHEN r.ok THEN now() END,
          webhook_next_attempt_at = CASE WHEN r.ok OR r.dead THEN NULL ELSE now() + r.retry_ms * interval '1 millisecond' END,
          webhook_dead_at = CASE WHEN r.dead THEN now() END,
          webhook_last_error = r.error,
          webhook_lease = NULL
        FROM unnest($1::bigint[], $2::uuid[], $3::boolean[], $4::boolean[], $5::integer[], $6::text[])
          AS r(event_id, lease, ok, dead, retry_ms, error)
        WHERE e.event_id = r.event_id AND e.webhook_lease = r.lease
        RETURNING e.event_id, r.dead`,
      values: [
        outcomes.map((o) => o.eventID),
        outcomes.map((o) => o.lease),
        outcomes.map((o) => o.ok),
        outcomes.map((o) => o.dead),
        outcomes.map((o) => o.retryInMs),
        outcomes.map((o) => o.error),
      ],
    });
    return { recorded: rows.length, deadLettered: rows.filter((row) => row.dead).length };
  }

  /** Dead letters, oldest first, after the event `after` when given; uses the dead-letter index. */
  async listDead(client: PoolClient, first: number, after: string | undefined): Promise<DeadLetter[]> {
    const { rows } = await client.query<DeadLetterRow>({
      name: 'profile_event_webhook_dead_list',
      text: `SELECT event_id, user_id, operator, event_time, webhook_attempts,
          coalesce(webhook_last_error, '') AS webhook_last_error, webhook_dead_at
        FROM profile_event
        WHERE webhook_dead_at IS NOT NULL AND event_id > $2::bigint
        ORDER BY event_id
        LIMIT $1`,
      values: [first, after ?? '0'],
    });
    return rows.map((row) => ({
      eventID: row.event_id,
      userID: row.user_id,
      operator: row.operator,
      eventTime: row.event_time,
      attempts: row.webhook_attempts,
      lastError: row.webhook_last_error,
      deadAt: row.webhook_dead_at,
    }));
  }

  /**
   * Puts the given dead letters back in the queue with a fresh count of attempts; other IDs are
   * left alone. Returns how many were re-queued.
   */
  async retry(client: PoolClient, eventIDs: readonly string[]): Promise<number> {
    const result = await client.query({
      name: 'profile_event_webhook_retry',
      text: `UPDATE profile_event SET
          webhook_dead_at = NULL, webhook_attempts = 0, webhook_next_attempt_at = NULL, webhook_lease = NULL
        WHERE event_id = ANY($1::bigint[]) AND webhook_dead_at IS NOT NULL`,
      values: [eventIDs],
    });
    return result.rowCount ?? 0;
  }

  /**
   * How many dead letters there are, counted up to `cap`. The bound lets the dead-letter index
   * answer it: without statistics the planner would otherwise guess most rows are dead and scan.
   */
  async countDead(cap: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>({
      name: 'profile_event_webhook_dead_count',
      text: `SELECT count(*)::int AS n FROM (
          SELECT 1 FROM profile_event WHERE webhook_dead_at IS NOT NULL ORDER BY event_id LIMIT $1) AS dead`,
      values: [cap],
    });
    return rows[0].n;
  }
}
