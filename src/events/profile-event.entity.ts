import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Every kind of outbox event; only PROFILE_UPDATED carries field values. */
export const PROFILE_EVENT_TYPES = [
  'PROFILE_UPDATED',
  'ACCOUNT_DELETED',
  'ACCOUNT_DEACTIVATED',
  'ACCOUNT_REACTIVATED',
] as const;
export type ProfileEventType = (typeof PROFILE_EVENT_TYPES)[number];

/**
 * The transactional outbox: one row per committed profile change or account event, written by the
 * same statement (or transaction) as the change. The relay publishes it to the instances; the webhook worker delivers it.
 */
@Entity({ name: 'profile_event' })
@Index('profile_event_user_event', ['userID', 'eventID'])
@Index('profile_event_unrelayed', ['eventID'], { where: 'NOT "relayed"' })
@Index('profile_event_webhook_queue', ['userID', 'eventID'], {
  where: '"webhook_pending" AND "webhook_dead_at" IS NULL',
})
@Index('profile_event_webhook_dead', ['eventID'], { where: '"webhook_dead_at" IS NOT NULL' })
// The webhook claims the oldest due events: in event order, which the queue index above cannot give.
@Index('profile_event_webhook_due', ['eventID'], { where: '"webhook_pending" AND "webhook_dead_at" IS NULL' })
// Pruning reads the oldest expired events, and only those, in time order (see deleteExpired).
@Index('profile_event_expiry', ['eventTime'], { where: '"relayed" AND NOT "webhook_pending"' })
export class ProfileEventEntity {
  @PrimaryGeneratedColumn('identity', {
    name: 'event_id',
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'profile_event_pkey',
  })
  eventID!: string;

  /** The profile owner. */
  @Column({ name: 'user_id', type: 'text' })
  userID!: string;

  /** What happened: a profile change, or an account deleted, deactivated or reactivated. */
  @Column({
    name: 'event_type',
    type: 'enum',
    enum: PROFILE_EVENT_TYPES,
    enumName: 'profile_event_type',
    default: 'PROFILE_UPDATED',
  })
  eventType!: ProfileEventType;

  /** Who made the change: the owner, or an administrator. */
  @Column({ type: 'text' })
  operator!: string;

  @Column({ name: 'event_time', type: 'timestamptz' })
  eventTime!: Date;

  /** Standard fields whose value changed, by API name, with their new values. */
  @Column({ name: 'changed_fields', type: 'jsonb' })
  changedFields!: Record<string, unknown>;

  /** Custom fields whose value changed (new value) or that were removed (null). */
  @Column({ name: 'changed_custom_fields', type: 'jsonb' })
  changedCustomFields!: Record<string, string | null>;

  /** The instance whose relay publishes the event first; others take over after a grace period. */
  @Column({ name: 'relay_owner', type: 'text' })
  relayOwner!: string;

  @Column({ type: 'boolean', default: false })
  relayed!: boolean;

  /** Not yet delivered to the webhook; dead letters stay pending (and kept) until retried. */
  @Column({ name: 'webhook_pending', type: 'boolean', default: false })
  webhookPending!: boolean;

  /** Attempts since the event was written or last retried, the one in flight included. */
  @Column({ name: 'webhook_attempts', type: 'integer', default: 0 })
  webhookAttempts!: number;

  /** No attempt before then: the next retry after a failure, or the end of the lease of the attempt in flight. */
  @Column({ name: 'webhook_next_attempt_at', type: 'timestamptz', nullable: true })
  webhookNextAttemptAt!: Date | null;

  @Column({ name: 'webhook_last_error', type: 'text', nullable: true })
  webhookLastError!: string | null;

  @Column({ name: 'webhook_delivered_at', type: 'timestamptz', nullable: true })
  webhookDeliveredAt!: Date | null;

  /** The claim of the attempt in flight: only the instance that holds it records the outcome. */
  @Column({ name: 'webhook_lease', type: 'uuid', nullable: true })
  webhookLease!: string | null;

  /** When the attempts ran out: a dead letter, which no longer holds back the user's later events. */
  @Column({ name: 'webhook_dead_at', type: 'timestamptz', nullable: true })
  webhookDeadAt!: Date | null;
}
