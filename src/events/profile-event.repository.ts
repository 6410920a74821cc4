import type { Pool, PoolClient } from 'pg';
import type { ChangeNotice } from './event-bus.js';

/** SQL on the `profile_event` outbox, outside the write path (which lives in UserProfileRepository). */
export class ProfileEventRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Marks up to `limit` unpublished events as relayed and returns them, within the caller's
   * transaction: events this instance wrote at once, anyone's once they waited `takeoverMs`.
   * SKIP LOCKED lets several relays work side by side without publishing an event twice.
   */
  async claimForRelay(
    transaction: PoolClient,
    owner: string,
    takeoverMs: number,
    limit: number,
  ): Promise<ChangeNotice[]> {
    const { rows } = await transaction.query<{ event_id: string; user_id: string }>({
      name: 'profile_event_claim_for_relay',
      text: `WITH batch AS (
          SELECT event_id FROM profile_event
          WHERE NOT relayed AND (relay_owner = $1 OR event_time < now() - $2::integer * interval '1 millisecond')
          ORDER BY event_id LIMIT $3
          FOR UPDATE SKIP LOCKED
        )
        UPDATE profile_event AS e SET relayed = true FROM batch WHERE e.event_id = batch.event_id
        RETURNING e.event_id, e.user_id`,
      values: [owner, takeoverMs, limit],
    });
    return rows.map((row) => ({ eventID: row.event_id, userID: row.user_id }));
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

  /** Deletes events that were published and need no webhook delivery, once older than `hours`. */
  async deleteExpired(hours: number, limit = 10_000): Promise<number> {
    const result = await this.pool.query({
      name: 'profile_event_delete_expired',
      text: `DELETE FROM profile_event WHERE event_id IN (
          SELECT event_id FROM profile_event
          WHERE relayed AND NOT webhook_pending AND event_time < now() - $1::integer * interval '1 hour'
          LIMIT $2)`,
      values: [hours, limit],
    });
    return result.rowCount ?? 0;
  }
}
