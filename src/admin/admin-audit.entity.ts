import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export enum AuditOutcome {
  /** The operation was carried out. */
  SUCCEEDED = 'SUCCEEDED',
  /** The caller may not do this (not an administrator, or a permission rule). */
  FORBIDDEN = 'FORBIDDEN',
  /** The input was refused (BAD_USER_INPUT); nothing changed. */
  REJECTED = 'REJECTED',
  /**
   * An error of ours or of the database; nothing changed. error_code is what the caller got:
   * INTERNAL_SERVER_ERROR, or SERVICE_UNAVAILABLE.
   */
  FAILED = 'FAILED',
}

/**
 * One row per administrative operation attempted by a signed-in caller, refused attempts included;
 * a non-administrator's repeats of a refused operation within a minute add to one row's `attempts`.
 */
@Entity({ name: 'admin_audit' })
@Index('admin_audit_actor_idx', ['actorID', 'occurredAt'])
@Index('admin_audit_refusal_key', ['actorID', 'operation', 'refusedMinute'], {
  unique: true,
  where: '"refused_minute" IS NOT NULL',
})
export class AdminAuditEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', primaryKeyConstraintName: 'admin_audit_pkey' })
  id!: string;

  @Column({ name: 'occurred_at', type: 'timestamptz', default: () => 'now()' })
  occurredAt!: Date;

  @Column({ name: 'actor_id', type: 'text' })
  actorID!: string;

  @Column({ name: 'actor_is_admin', type: 'boolean' })
  actorIsAdmin!: boolean;

  /** The GraphQL field, e.g. `setUserProfile`. */
  @Column({ type: 'text' })
  operation!: string;

  /** What the operation was aimed at: user IDs or custom field keys (at most 100, each shortened to 64 characters). */
  @Column({ type: 'text', array: true })
  subjects!: string[];

  /** The input fields given, e.g. `nick` or a custom field key, or definition attributes. */
  @Column({ type: 'text', array: true })
  fields!: string[];

  @Column({ type: 'enum', enum: AuditOutcome, enumName: 'admin_audit_outcome' })
  outcome!: AuditOutcome;

  /** The error's extensions.code and extensions.reason when the outcome is not SUCCEEDED. */
  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_reason', type: 'text', nullable: true })
  errorReason!: string | null;

  /** How many calls the row records: 1, or a refusal's first call and its repeats (see refusedMinute). */
  @Column({ type: 'integer', default: 1 })
  attempts!: number;

  /**
   * Only on a non-administrator's refusal: the minute of its first call. Repeats of it (same actor,
   * same operation, same minute) add to `attempts`; the row keeps the first call's subjects and fields.
   */
  @Column({ name: 'refused_minute', type: 'timestamptz', nullable: true })
  refusedMinute!: Date | null;
}
