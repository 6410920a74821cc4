import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { WebhookConfig } from '../config.js';
import { CoalescingPoller } from '../coalescing-poller.js';
import { inTransaction } from '../db/transaction.js';
import { ATTEMPT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, signWebhookBody } from './webhook-signature.js';

/** The JSON body POSTed for each event. */
export interface WebhookPayload {
  /** Unique per event, also in the X-Profile-Event-Id header: the receiver's idempotency key. */
  readonly eventID: string;
  readonly eventType: 'PROFILE_UPDATED';
  /** Who made the change: the owner, or an administrator. */
  readonly operator: string;
  /** Whose profile changed. */
  readonly userID: string;
  /** When the change committed (ISO 8601). */
  readonly eventTime: string;
  /** Standard fields whose value changed, with their new values. */
  readonly changedFields: Record<string, unknown>;
  /** Custom fields whose value changed (new value) or that were removed (null). */
  readonly changedCustomFields: Record<string, string | null>;
}

interface PendingRow {
  event_id: string;
  user_id: string;
  operator: string;
  event_time: Date;
  changed_fields: Record<string, unknown>;
  changed_custom_fields: Record<string, string | null>;
  webhook_attempts: number;
}

interface Outcome {
  readonly eventID: string;
  readonly ok: boolean;
  readonly retryInMs: number;
  readonly error: string | null;
}

/**
 * Delivers outbox events to PROFILE_WEBHOOK_URL, at least once. Each round locks, with
 * FOR UPDATE SKIP LOCKED, the oldest pending event of up to `batchSize` users whose earlier events
 * are all delivered, POSTs them (different users in parallel), and records the outcomes in the same
 * transaction. So a user's event N+1 is never sent before N succeeded, several instances never
 * deliver one event at the same time, and an instance that dies mid-delivery just releases its
 * locks: the events stay pending. Failures and timeouts are retried with exponential backoff.
 */
export class WebhookWorker {
  private readonly poller: CoalescingPoller;

  constructor(
    private readonly pool: Pool,
    private readonly config: WebhookConfig,
    private readonly logger: Logger,
  ) {
    this.poller = new CoalescingPoller(config.pollMs, () => this.drain());
  }

  start(): void {
    this.poller.start();
  }

  wake(): void {
    this.poller.wake();
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }

  /** Exponential backoff with jitter: base * 2^(attempt-1), capped, then 50-100% of that. */
  retryDelay(attempt: number): number {
    const ceiling = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private async drain(): Promise<void> {
    try {
      while (!this.poller.isStopped && (await this.deliverRound()) > 0) {
        // delivered or failed something: a user's next event may now be due
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'webhook delivery round failed; retrying on the next pass');
    }
  }

  private deliverRound(): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const rows = await this.claim(client);
      if (rows.length > 0) {
        const outcomes = await Promise.all(rows.map((row) => this.deliver(row)));
        await this.record(client, outcomes);
      }
      return rows.length;
    });
  }

  private async claim(client: PoolClient): Promise<PendingRow[]> {
    const { rows } = await client.query<PendingRow>({
      name: 'profile_event_webhook_claim',
      text: `SELECT e.event_id, e.user_id, e.operator, e.event_time, e.changed_fields, e.changed_custom_fields,
          e.webhook_attempts
        FROM profile_event AS e
        WHERE e.webhook_pending
          AND (e.webhook_next_attempt_at IS NULL OR e.webhook_next_attempt_at <= now())
          AND NOT EXISTS (
            SELECT 1 FROM profile_event AS earlier
            WHERE earlier.webhook_pending AND earlier.user_id = e.user_id AND earlier.event_id < e.event_id)
        ORDER BY e.event_id
        LIMIT $1
        FOR UPDATE OF e SKIP LOCKED`,
      values: [this.config.batchSize],
    });
    return rows;
  }

  private async deliver(row: PendingRow): Promise<Outcome> {
    const payload: WebhookPayload = {
      eventID: row.event_id,
      eventType: 'PROFILE_UPDATED',
      operator: row.operator,
      userID: row.user_id,
      eventTime: row.event_time.toISOString(),
      changedFields: row.changed_fields,
      changedCustomFields: row.changed_custom_fields,
    };
    const body = JSON.stringify(payload);
    const attempt = row.webhook_attempts + 1;
    let error: string;
    try {
      const response = await fetch(this.config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'profile-service-webhook',
          [EVENT_ID_HEADER]: row.event_id,
          [ATTEMPT_HEADER]: String(attempt),
          [SIGNATURE_HEADER]: signWebhookBody(this.config.secret, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) {
        return { eventID: row.event_id, ok: true, retryInMs: 0, error: null };
      }
      error = `HTTP ${response.status}`;
    } catch (caught) {
      const reason = caught as Error & { cause?: { code?: string } };
      error = reason.name === 'TimeoutError' ? 'timeout' : (reason.cause?.code ?? reason.message);
    }
    const retryInMs = this.retryDelay(attempt);
    this.logger.warn({ eventID: row.event_id, attempt, error, retryInMs }, 'webhook delivery failed; will retry');
    return { eventID: row.event_id, ok: false, retryInMs, error };
  }

  private async record(client: PoolClient, outcomes: readonly Outcome[]): Promise<void> {
    await client.query({
      name: 'profile_event_webhook_record',
      text: `UPDATE profile_event AS e SET
          webhook_pending = NOT r.ok,
          webhook_attempts = e.webhook_attempts + 1,
          webhook_delivered_at = CASE WHEN r.ok THEN now() END,
          webhook_next_attempt_at = CASE WHEN r.ok THEN NULL ELSE clock_timestamp() + r.retry_ms * interval '1 millisecond' END,
          webhook_last_error = r.error
        FROM unnest($1::bigint[], $2::boolean[], $3::integer[], $4::text[]) AS r(event_id, ok, retry_ms, error)
        WHERE e.event_id = r.event_id`,
      values: [
        outcomes.map((o) => o.eventID),
        outcomes.map((o) => o.ok),
        outcomes.map((o) => o.retryInMs),
        outcomes.map((o) => o.error),
      ],
    });
  }
}
