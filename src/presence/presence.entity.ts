import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { UserProfileEntity } from '../user/user-profile.entity.js';

/**
 * One row per running instance that holds WebSocket connections: its heartbeat, written once per
 * beat for all its users (see PresenceTracker). An instance whose heartbeat is older than the
 * presence timeout is dead; its sessions stop counting at once and are swept by the next beat of
 * any instance.
 */
@Entity({ name: 'presence_instance' })
export class PresenceInstanceEntity {
  @PrimaryColumn({ name: 'instance_id', type: 'text', primaryKeyConstraintName: 'presence_instance_pkey' })
  instanceID!: string;

  @Column({ name: 'heartbeat_at', type: 'timestamptz', default: () => 'now()' })
  heartbeatAt!: Date;
}

/**
 * A user holding at least one authenticated graphql-ws connection on an instance: written when
 * their first connection there opens and deleted when their last one there closes, never per beat.
 */
@Entity({ name: 'presence_session' })
// Who is online reads sessions by user; an erased account's sessions go with it (the cascade).
@Index('presence_session_user', ['userID'])
export class PresenceSessionEntity {
  @PrimaryColumn({ name: 'instance_id', type: 'text', primaryKeyConstraintName: 'presence_session_pkey' })
  instanceID!: string;

  @PrimaryColumn({ name: 'user_id', type: 'text', primaryKeyConstraintName: 'presence_session_pkey' })
  userID!: string;

  @ManyToOne(() => PresenceInstanceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'instance_id', foreignKeyConstraintName: 'presence_session_instance_fkey' })
  instance?: PresenceInstanceEntity;

  @ManyToOne(() => UserProfileEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'presence_session_user_fkey' })
  profile?: UserProfileEntity;
}

/**
 * What a user's status keeps between connections: the custom status they set and when their last
 * connection ended. No row: they never set a status and never disconnected.
 */
@Entity({ name: 'user_status' })
export class UserStatusEntity {
  @PrimaryColumn({ name: 'user_id', type: 'text', primaryKeyConstraintName: 'user_status_pkey' })
  userID!: string;

  @Column({ name: 'custom_status', type: 'text', default: '' })
  customStatus!: string;

  /** When the user's last connection ended (or the instance holding it was last alive). */
  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true })
  lastSeenAt!: Date | null;

  @ManyToOne(() => UserProfileEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'user_status_user_fkey' })
  profile?: UserProfileEntity;
}
