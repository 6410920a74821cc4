import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What is left of a deleted account: a digest of its ID (not the ID) and when it was deleted, so
 * that tokens issued before the deletion are refused and cannot recreate the account on first use.
 * A later account with the same ID keeps the row: the old tokens stay refused.
 */
@Entity({ name: 'account_tombstone' })
export class AccountTombstoneEntity {
  /** SHA-256 of the user ID's UTF-8 bytes. */
  @PrimaryColumn({ name: 'user_id_digest', type: 'bytea', primaryKeyConstraintName: 'account_tombstone_pkey' })
  userIDDigest!: Buffer;

  /** The last deletion; tokens issued at or before this second are refused. */
  @Column({ name: 'deleted_at', type: 'timestamptz' })
  deletedAt!: Date;
}
