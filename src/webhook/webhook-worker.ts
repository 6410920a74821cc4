import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { WebhookConfig } from '../config.js';
import type { ProfileEventType } from '../events/profile-event.entity.js';
import { CoalescingPoller } from '../coalescing-poller.js';
import type { WebhookDeadLetterSource } from '../observability/metrics.js';
import { ATTEMPT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, signWebhookBody } from './webhook-signature.js';
import { WebhookDeliveryRepository, type DeliveryClaim, type DeliveryOutcome } from './webhook-delivery.repository.js';

/** The JSON body POSTed for each event. */
export type WebhookPayload = ProfileUpdatedPayload | AccountEventPayload;

interface PayloadBase {
  /** Unique per event, also in the X-Profile-Event-Id header: the receiver's idempotency key. */
  readonly eventID: string;
  /** Who made the change: the owner, or an administrator. */
  readonly operator: string;
  /** Whose profile or account it is. */
  readonly userID: string;
  /** When the change committed (ISO 8601). */
  readonly eventTime: string;
}

export interface ProfileUpdatedPayload extends PayloadBase {
  readonly eventType: 'PROFILE_UPDATED';
  /** Standard fields whose value changed, with their new values. */
  readonly changedFields: Record<string, unknown>;
  /** Custom fields whose value changed (new value) or that were removed (null). */
  readonly changedCustomFields: Record<string, string | null>;
}

/** An account deleted, deactivated or reactivated: no field values. */
export interface AccountEventPayload extends PayloadBase {
  readonly eventType: Exclude<ProfileEventType, 'PROFILE_UPDATED'>;
}

/** How long a lease outlasts the receiver's timeout: room to record the outcome before anyone else may retry. */
const LEASE_MARGIN_MS = 30_000;

/**
 * Delivers outbox events to PROFILE_WEBHOOK_URL, at least once. Each round leases, in one short
 * statement, the oldest due event of up to `batchSize` users whose earlier events are all
 * delivered or dead, POSTs them (different users in parallel) holding no connection, and records
 * the outcomes in a second statement that only the lease holder's outcome passes. So a user's
 * event N+1 is never sent before N succeeded or became a dead letter, several instances never
 * deliver one event at the same time, and an instance that dies mid-delivery leaves its events to
 * be picked up when their leases end. Failures and timeouts are retried with exponential backoff;
 * after `maxAttempts` attempts the event becomes a dead letter, which an administrator may retry.
 */
export class WebhookWorker implements WebhookDeadLetterSource {
  private readonly poller: CoalescingPoller;
  private readonly deliveries: WebhookDeliveryRepository;
  private readonly deadLetterListeners: Array<(count: number) => void> = [];

  constructor(
    pool: Pool,
    private readonly config: WebhookConfig,
    private readonly logger: Logger,
  ) {
    this.deliveries = new WebhookDeliveryRepository(pool);
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

  onDeadLetters(listener: (count: number) => void): void {
    this.deadLetterListeners.push(listener);
  }

  countDeadLetters(cap: number): Promise<number> {
    return this.deliveries.countDead(cap);
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

  private async deliverRound(): Promise<number> {
    const { claims, deadLettered } = await this.deliveries.claim(
      this.config.batchSize,
      this.config.timeoutMs + LEASE_MARGIN_MS,
      this.config.maxAttempts,
    );
    if (deadLettered > 0) {
      this.logger.error({ count: deadLettered }, 'webhook deliveries whose last lease ran out became dead letters');
      this.reportDeadLetters(deadLettered);
    }
    if (claims.length > 0) {
      const outcomes = await Promise.all(claims.map((claim) => this.deliver(claim)));
      const recorded = await this.deliveries.record(outcomes);
      if (recorded.recorded < outcomes.length) {
        this.logger.warn(
          { count: outcomes.length - recorded.recorded },
          'webhook outcomes not recorded: their leases ended and passed to another attempt',
        );
      }
      this.reportDeadLetters(recorded.deadLettered);
    }
    return claims.length + deadLettered;
  }

  private reportDeadLetters(count: number): void {
    if (count === 0) return;
    for (const listener of this.deadLetterListeners) listener(count);
  }

  private async deliver({ event, attempt, lease }: DeliveryClaim): Promise<DeliveryOutcome> {
    // Keys in the documented order: eventID, eventType, then who, whose and when.
    const { eventID, eventType, operator, userID } = event;
    const eventTime = event.eventTime.toISOString();
    const payload: WebhookPayload =
      eventType === 'PROFILE_UPDATED'
        ? {
            eventID,
            eventType,
            operator,
            userID,
            eventTime,
            changedFields: event.changedFields,
            changedCustomFields: event.changedCustomFields,
          }
        : { eventID, eventType, operator, userID, eventTime };
    const body = JSON.stringify(payload);
    const done = { eventID: event.eventID, lease };
    let error: string;
    try {
      const response = await fetch(this.config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'profile-service-webhook',
          [EVENT_ID_HEADER]: event.eventID,
          [ATTEMPT_HEADER]: String(attempt),
          [SIGNATURE_HEADER]: signWebhookBody(this.config.secret, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) {
        return { ...done, ok: true, dead: false, retryInMs: 0, error: null };
      }
      error = `HTTP ${response.status}`;
    } catch (caught) {
      const reason = caught as Error & { cause?: { code?: string } };
      error = reason.name === 'TimeoutError' ? 'timeout' : (reason.cause?.code ?? reason.message);
    }
    const details = { eventID: event.eventID, attempt, error };
    if (attempt >= this.config.maxAttempts) {
      this.logger.error(details, 'webhook delivery failed for the last time; the event is now a dead letter');
      return { ...done, ok: false, dead: true, retryInMs: 0, error };
    }
    const retryInMs = this.retryDelay(attempt);
    this.logger.warn({ ...details, retryInMs }, 'webhook delivery failed; will retry');
    return { ...done, ok: false, dead: false, retryInMs, error };
  }
}
