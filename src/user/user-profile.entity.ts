import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn, type ColumnOptions } from 'typeorm';
import { defaultOf, postgresTypeOf, STANDARD_FIELDS, specOf, type FieldSpec } from './profile-fields.js';

const UINT32 = 'BETWEEN 0 AND 4294967295';

/** Which declared fields have a kind of CHECK constraint; the constraints below are built from these. */
const declared = <T>(pick: (spec: FieldSpec, column: string) => T | undefined): T[] =>
  STANDARD_FIELDS.flatMap((field) => {
    const value = pick(specOf(field), specOf(field).column);
    return value === undefined ? [] : [value];
  });

const uint32Check = declared((spec, column) => (spec.kind === 'uint32' ? `"${column}" ${UINT32}` : undefined)).join(
  ' AND ',
);

/** The TypeORM column of a declared field, from its kind. */
function columnOf(spec: FieldSpec): ColumnOptions {
  const name = spec.column;
  const base = { name, default: defaultOf(spec) };
  if (spec.kind === 'enum') return { ...base, type: 'enum', enum: Object.values(spec.values), enumName: spec.enumName };
  return { ...base, type: postgresTypeOf(spec) as ColumnOptions['type'] };
}

/**
 * One row per account. The standard fields' columns come from profile-fields.ts. Custom fields
 * live in a jsonb object keyed by field key, so a profile and its custom fields are read in one
 * statement and merged by key in one atomic UPDATE.
 */
@Entity({ name: 'user_profile' })
@Check('user_profile_user_id_length', 'octet_length("user_id") BETWEEN 1 AND 32')
@Check('user_profile_uint32', uint32Check)
// Deactivated accounts are few; each instance reads them all at start (see src/account/).
@Index('user_profile_deactivated', ['userID'], { where: '"deactivated_at" IS NOT NULL' })
// searchUsers' indexes are over expressions TypeORM cannot describe: migrations/1796185000000-user-search.ts.
@Index('user_profile_search_walk', { synchronize: false })
export class UserProfileEntity {
  @PrimaryColumn({ name: 'user_id', type: 'text', primaryKeyConstraintName: 'user_profile_pkey' })
  userID!: string;

  /** The standard fields' values, as the columns declared below hold them. */
  [field: string]: unknown;

  @Column({ name: 'custom_fields', type: 'jsonb', default: {} })
  customFields!: Record<string, string>;

  @Column({ name: 'last_updated_time', type: 'timestamptz', default: () => 'now()' })
  lastUpdatedTime!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /**
   * When an administrator deactivated the account, null while it is active. A deactivated account
   * keeps its data but reads as missing to everyone but administrators.
   */
  @Column({ name: 'deactivated_at', type: 'timestamptz', nullable: true })
  deactivatedAt!: Date | null;
}

for (const field of STANDARD_FIELDS) Column(columnOf(specOf(field)))(UserProfileEntity.prototype, field);

// A choice's values, and a text's byte limit where the field asks for it, are constraints too.
for (const [name, expression] of declared((spec, column): [string, string] | undefined => {
  if (spec.kind === 'choice') return [`user_profile_${column}`, `"${column}" IN (${spec.values.join(', ')})`];
  if (spec.kind === 'text' && spec.checkedInDatabase === true) {
    return [`user_profile_${column}_length`, `octet_length("${column}") <= ${spec.maxBytes}`];
  }
  return undefined;
})) {
  Check(name, expression)(UserProfileEntity);
}
