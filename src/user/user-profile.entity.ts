import { Check, Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { AllowType, ForbidType, Gender } from './user.enums.js';

const UINT32 = 'BETWEEN 0 AND 4294967295';

/**
 * One row per account. Custom fields live in a jsonb object keyed by field key, so a profile
 * and its custom fields are read in one statement and merged by key in one atomic UPDATE.
 */
@Entity({ name: 'user_profile' })
@Check('user_profile_user_id_length', 'octet_length("user_id") BETWEEN 1 AND 32')
@Check(
  'user_profile_uint32',
  `"birthday" ${UINT32} AND "language" ${UINT32} AND "level" ${UINT32} AND "role" ${UINT32}`,
)
@Check('user_profile_message_settings', '"message_settings" IN (0, 1)')
@Check('user_profile_location_length', 'octet_length("location") <= 16')
export class UserProfileEntity {
  @PrimaryColumn({ name: 'user_id', type: 'text', primaryKeyConstraintName: 'user_profile_pkey' })
  userID!: string;

  @Column({ type: 'text', default: '' })
  nick!: string;

  @Column({ type: 'text', default: '' })
  avatar!: string;

  @Column({ type: 'enum', enum: Gender, enumName: 'profile_gender', default: Gender.UNKNOWN })
  gender!: Gender;

  @Column({ name: 'self_signature', type: 'text', default: '' })
  selfSignature!: string;

  @Column({
    name: 'allow_type',
    type: 'enum',
    enum: AllowType,
    enumName: 'profile_allow_type',
    default: AllowType.NEED_CONFIRM,
  })
  allowType!: AllowType;

  @Column({ type: 'bigint', default: 0 })
  birthday!: string;

  @Column({ type: 'text', default: '' })
  location!: string;

  @Column({ type: 'bigint', default: 0 })
  language!: string;

  @Column({ name: 'message_settings', type: 'smallint', default: 0 })
  messageSettings!: number;

  @Column({
    name: 'admin_forbid_type',
    type: 'enum',
    enum: ForbidType,
    enumName: 'profile_forbid_type',
    default: ForbidType.NONE,
  })
  adminForbidType!: ForbidType;

  @Column({ type: 'bigint', default: 0 })
  level!: string;

  @Column({ type: 'bigint', default: 0 })
  role!: string;

  @Column({ name: 'custom_fields', type: 'jsonb', default: {} })
  customFields!: Record<string, string>;

  @Column({ name: 'last_updated_time', type: 'timestamptz', default: () => 'now()' })
  lastUpdatedTime!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
