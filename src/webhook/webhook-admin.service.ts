import type { AdminAudit } from '../admin/admin-audit.js';
import type { Viewer } from '../auth/viewer.js';
import { BadUserInputError, ErrorReason } from '../errors.js';
import type { DeadLetter, WebhookDeliveryRepository } from './webhook-delivery.repository.js';

export const WEBHOOK_ADMIN_LIMITS = { perRequest: 100, defaultPage: 50 } as const;

const EVENT_ID = /^[1-9][0-9]{0,18}$/;
const MAX_EVENT_ID = 2n ** 63n - 1n;

function checkEventID(field: string, eventID: string): void {
  if (!EVENT_ID.test(eventID) || BigInt(eventID) > MAX_EVENT_ID) {
    throw new BadUserInputError(field, ErrorReason.INVALID_VALUE, `${field} is not an event ID`);
  }
}

function checkCount(field: string, count: number): void {
  if (count > WEBHOOK_ADMIN_LIMITS.perRequest) {
    throw new BadUserInputError(
      field,
      ErrorReason.TOO_MANY,
      `${field} has ${count} items; at most ${WEBHOOK_ADMIN_LIMITS.perRequest} are accepted`,
    );
  }
}

/** The webhook's dead letters, for administrators: listed and retried, audited. */
export class WebhookAdminService {
  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly audit: AdminAudit,
    /** Called once re-queued events are committed, so the worker need not wait for its next poll. */
    private readonly onRequeued: () => void = () => undefined,
  ) {}

  async listDeadLetters(viewer: Viewer, first: number, after: string | undefined): Promise<DeadLetter[]> {
    const action = { operation: 'webhookDeadLetters', subjects: [], fields: after === undefined ? [] : ['after'] };
    return this.audit.run(viewer, action, async (scope) => {
      if (first < 1) throw new BadUserInputError('first', ErrorReason.INVALID_VALUE, 'first must be at least 1');
      if (first > WEBHOOK_ADMIN_LIMITS.perRequest) {
        throw new BadUserInputError(
          'first',
          ErrorReason.TOO_MANY,
          `first may be at most ${WEBHOOK_ADMIN_LIMITS.perRequest}`,
        );
      }
      if (after !== undefined) checkEventID('after', after);
      return this.deliveries.listDead(scope.client, first, after);
    });
  }

  /** Re-queues those of `eventIDs` that are dead letters; returns how many were. */
  async retryDeliveries(viewer: Viewer, eventIDs: readonly string[]): Promise<number> {
    const action = { operation: 'retryWebhookDeliveries', subjects: eventIDs, fields: [] };
    return this.audit.run(viewer, action, async (scope) => {
      checkCount('eventIDs', eventIDs.length);
      eventIDs.forEach((eventID, index) => checkEventID(`eventIDs[${index}]`, eventID));
      if (eventIDs.length === 0) return 0;
      const requeued = await this.deliveries.retry(scope.client, [...new Set(eventIDs)]);
      if (requeued > 0) scope.afterCommit(() => this.onRequeued());
      return requeued;
    });
  }
}
