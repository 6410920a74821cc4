import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export enum AuditOutcome {
  /** The operation was carried out. */
  SUCCEEDED = 'SUCCEEDED',
  /** The caller may not do this (not an administrator, or a permission rule). */
  FORBIDDEN = 'FORBIDDEN',
  /** The input was refused (BAD_USER_INPUT); nothing changed. */
  REJECTED = 'REJECTED',
  /** An unexpected error; the request was answered with INTERNAL_SERVER_ERROR. */
  FAILED = 'FAILED',
}

/** One row per administrative operation attempted by a signed-in caller, refused attempts included. */
@Entity({ name: 'admin_audit' })
@Index('admin_audit_actor_idx', ['actorID', 'occurredAt'])
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
}
