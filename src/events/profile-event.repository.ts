import type { Pool } from 'pg';
/** That a profile changed: an outbox event and whose profile it is (what the bus carries). */
export interface ChangeNotice {
  readonly eventID: string;
  readonly userID: string;
}

/** The pruning statement ($1: retention hours, $2: batch size); see deleteExpired. */
export const DELETE_EXPIRED = {
  name: 'profile_event_delete_expired',
  text: `DELETE FROM profile_event WHERE event_id IN (
      SELECT event_id FROM profile_event
      WHERE relayed AND NOT webhook_pending AND event_time < now() - $1::integer * interval '1 hour'
      ORDER BY event_time
      LIMIT $2
      FOR UPDATE SKIP LOCKED)`,
} as const;

/** SQL on the `profile_event` outbox, outside the write path (which lives in UserProfileRepository). */
export class ProfileEventRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Up to `limit` unpublished events, oldest first: those this instance wrote at once, anyone's
   * once they waited `takeoverMs`. Read without a lock or a transaction, so the publishing that
   * follows holds nothing; two relays taking over the same events publish them twice, which
   * subscribers drop (see ProfileEventHub).
   */
  async unrelayed(owner: string, takeoverMs: number, limit: number): Promise<ChangeNotice[]> {
    const { rows } = await this.pool.query<{ event_id: string; user_id: string }>({
      name: 'profile_event_unrelayed',
      text: `SELECT event_id, user_id FROM profile_event
        WHERE NOT relayed AND (relay_owner = $1 OR event_time < now() - $2::integer * interval '1 millisecond')
        ORDER BY event_id LIMIT $3`,
      values: [owner, takeoverMs, limit],
    });
    return rows.map((row) => ({ eventID: row.event_id, userID: row.user_id }));
  }

  /** Marks these events relayed, once their notices went out. */
  async markRelayed(eventIDs: readonly string[]): Promise<void> {
    await this.pool.query({
      name: 'profile_event_mark_relayed',
      text: 'UPDATE profile_event SET relayed = true WHERE event_id = ANY($1::bigint[]) AND NOT relayed',
      values: [eventIDs],
    });
  }

  /**
   * Claims a batch like `unrelayed` (SKIP LOCKED keeping relays side by side from publishing an
   * event twice) and sends its notices with NOTIFY, in one statement: its
   * commit marks the events relayed and sends the notices together, or does neither. Notices are
   * sent 50 to a message, which keeps each payload far below NOTIFY's 8000-byte limit.
   */
  async claimAndNotify(owner: string, takeoverMs: number, limit: number, channel: string): Promise<number> {
    const { rows } = await this.pool.query<{ claimed: number }>({
      name: 'profile_event_claim_and_notify',
      text: `WITH batch AS (
          SELECT event_id FROM profile_event
          WHERE NOT relayed AND (relay_owner = $1 OR event_time < now() - $2::integer * interval '1 millisecond')
          ORDER BY event_id LIMIT $3
          FOR UPDATE SKIP LOCKED
        ), claimed AS (
          UPDATE profile_event AS e SET relayed = true FROM batch WHERE e.event_id = batch.event_id
          RETURNING e.event_id, e.user_id
        ), chunks AS (
          SELECT event_id, user_id, (row_number() OVER (ORDER BY event_id) - 1) / 50 AS chunk FROM claimed
        ), messages AS (
          SELECT '[' || string_agg(json_build_array(event_id::text, user_id)::text, ',' ORDER BY event_id) || ']' AS message
          FROM chunks GROUP BY chunk
        ), notified AS (
          SELECT pg_notify($4, message) FROM messages
        )
        SELECT (SELECT count(*) FROM claimed)::int AS claimed, (SELECT count(*) FROM notified)::int AS messages`,
      values: [owner, takeoverMs, limit, channel],
    });
    return rows[0].claimed;
  }

  /** The newest event ID of each given user that has one; one statement. */
  async latestEventIDs(userIDs: readonly string[]): Promise<Map<string, bigint>> {
    const { rows } = await this.pool.query<{ user_id: string; event_id: string }>({
      name: 'profile_event_latest',
      text: `SELECT user_id, max(event_id) AS event_id FROM profile_event WHERE user_id = ANY($1::text[]) GROUP BY user_id`,
      values: [userIDs],
    });
    return new Map(rows.map((row) => [row.user_id, BigInt(row.event_id)]));
  }

  /**
   * Per given user with events: the newest event's ID and when it happened, in microseconds since
   * the epoch (the column's precision, which a Date would round away); one statement. Each user is
   * one probe of profile_event_user_event from its newest end, however many events it has kept.
   */
  async latestEvents(userIDs: readonly string[]): Promise<Map<string, { eventID: bigint; micros: bigint }>> {
    const { rows } = await this.pool.query<{ user_id: string; event_id: string; micros: string }>({
      name: 'profile_event_latest_with_time',
      text: `SELECT u.user_id, e.event_id::text AS event_id,
          (extract(epoch FROM e.event_time) * 1000000)::bigint::text AS micros
        FROM unnest($1::text[]) AS u(user_id)
        CROSS JOIN LATERAL (
          SELECT event_id, event_time FROM profile_event
          WHERE user_id = u.user_id ORDER BY event_id DESC LIMIT 1
        ) AS e`,
      values: [[...new Set(userIDs)]],
    });
    return new Map(rows.map((row) => [row.user_id, { eventID: BigInt(row.event_id), micros: BigInt(row.micros) }]));
  }

  /** When each given event happened, in microseconds since the epoch, for those still kept; one statement. */
  async eventMicros(eventIDs: readonly bigint[]): Promise<Map<bigint, bigint>> {
    const { rows } = await this.pool.query<{ event_id: string; micros: string }>({
      name: 'profile_event_micros',
      text: `SELECT event_id::text, (extract(epoch FROM event_time) * 1000000)::bigint::text AS micros
        FROM profile_event WHERE event_id = ANY($1::bigint[])`,
      values: [eventIDs.map(String)],
    });
    return new Map(rows.map((row) => [BigInt(row.event_id), BigInt(row.micros)]));
  }

  /** When each given event committed, for those still kept; one statement. */
  async eventTimes(eventIDs: readonly bigint[]): Promise<Map<string, Date>> {
    const { rows } = await this.pool.query<{ event_id: string; event_time: Date }>({
      name: 'profile_event_times',
      text: `SELECT event_id, event_time FROM profile_event WHERE event_id = ANY($1::bigint[])`,
      values: [eventIDs.map(String)],
    });
    return new Map(rows.map((row) => [row.event_id, row.event_time]));
  }

  /**
   * Deletes up to `limit` of the oldest events that were published and need no webhook delivery,
   * once older than `hours`. The expiry index (profile_event_expiry) is ordered by time and holds
   * only such events, so the batch is read from its start whatever the table's statistics say;
   * SKIP LOCKED lets instances prune side by side without waiting on each other.
   */
  async deleteExpired(hours: number, limit: number): Promise<number> {
    const result = await this.pool.query({ ...DELETE_EXPIRED, values: [hours, limit] });
    return result.rowCount ?? 0;
  }
}
