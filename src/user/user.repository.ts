import type { Pool, QueryConfig, QueryResultRow } from 'pg';
import { mapDatabaseError } from '../db/database-errors.js';
import type { AllowType, ForbidType, Gender } from './user.enums.js';
import {
  STANDARD_FIELD_COLUMNS,
  STANDARD_FIELDS,
  type ProfilePatch,
  type StandardField,
  type StandardValues,
} from './user.rules.js';

/** A profile as stored: standard values plus every stored custom value, visible or not. */
export interface ProfileRecord extends StandardValues {
  readonly userID: string;
  readonly customFields: Readonly<Record<string, string>>;
  readonly lastUpdatedTime: Date;
}

export interface UpdateResult {
  readonly profile: ProfileRecord;
  /** False when every value in the patch equalled the stored one: nothing was written. */
  readonly changed: boolean;
}

/** Runs one statement; the seam where statements are counted and errors are mapped. */
export interface SqlRunner {
  query<R extends QueryResultRow>(config: QueryConfig): Promise<R[]>;
}

/** How many statements the runner has sent: read by tests that count SQL per request, and by metrics. */
export interface StatementCounter {
  count: number;
}

export function createSqlRunner(pool: Pool, counter: StatementCounter = { count: 0 }): SqlRunner {
  return {
    async query<R extends QueryResultRow>(config: QueryConfig) {
      counter.count += 1;
      try {
        return (await pool.query<R>(config)).rows;
      } catch (error) {
        throw mapDatabaseError(error);
      }
    },
  };
}

const COLUMNS = `user_id, nick, avatar, gender, self_signature, allow_type, birthday, location, language,
  message_settings, admin_forbid_type, level, role, custom_fields, last_updated_time`;

/** Postgres types of the patchable columns, for explicit parameter casts. */
const COLUMN_TYPES: Record<StandardField, string> = {
  nick: 'text',
  avatar: 'text',
  gender: 'profile_gender',
  selfSignature: 'text',
  allowType: 'profile_allow_type',
  birthday: 'bigint',
  location: 'text',
  language: 'bigint',
  messageSettings: 'smallint',
  adminForbidType: 'profile_forbid_type',
  level: 'bigint',
  role: 'bigint',
};

interface ProfileRow {
  user_id: string;
  nick: string;
  avatar: string;
  gender: Gender;
  self_signature: string;
  allow_type: AllowType;
  birthday: string;
  location: string;
  language: string;
  message_settings: number;
  admin_forbid_type: ForbidType;
  level: string;
  role: string;
  custom_fields: Record<string, string>;
  last_updated_time: Date;
}

function toRecord(row: ProfileRow): ProfileRecord {
  return {
    userID: row.user_id,
    nick: row.nick,
    avatar: row.avatar,
    gender: row.gender,
    selfSignature: row.self_signature,
    allowType: row.allow_type,
    birthday: Number(row.birthday),
    location: row.location,
    language: Number(row.language),
    messageSettings: row.message_settings,
    adminForbidType: row.admin_forbid_type,
    level: Number(row.level),
    role: Number(row.role),
    customFields: row.custom_fields,
    lastUpdatedTime: row.last_updated_time,
  };
}

const FIND_BY_IDS: Omit<QueryConfig, 'values'> = {
  name: 'user_profile_find_by_ids',
  text: `SELECT ${COLUMNS} FROM user_profile WHERE user_id = ANY($1::text[])`,
};

const CREATE_IF_MISSING: Omit<QueryConfig, 'values'> = {
  name: 'user_profile_create_if_missing',
  // DO UPDATE (a no-op) rather than DO NOTHING so the row comes back whether or not it was new.
  text: `INSERT INTO user_profile (user_id) VALUES ($1)
    ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
    RETURNING ${COLUMNS}`,
};

/**
 * Builds the single statement that applies a patch: it locks the row, writes only the patched
 * columns and merges custom fields by key against the locked (latest) row, and touches
 * `last_updated_time` only when some value differs. Returns the new row (changed = true) or the
 * current one (changed = false); no row when the account does not exist.
 */
function buildUpdate(patch: ProfilePatch): QueryConfig {
  const values: unknown[] = [];
  const param = (value: unknown, type: string): string => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const userParam = param(undefined, 'text');
  const sets: string[] = [];
  const differs: string[] = [];
  let shape = 0;
  for (const [field, value] of Object.entries(patch.standard) as [StandardField, unknown][]) {
    shape |= 1 << STANDARD_FIELDS.indexOf(field);
    const column = STANDARD_FIELD_COLUMNS[field];
    const p = param(value, COLUMN_TYPES[field]);
    sets.push(`${column} = ${p}`);
    differs.push(`cur.${column} IS DISTINCT FROM ${p}`);
  }
  const hasCustom = Object.keys(patch.customSet).length > 0 || patch.customRemove.length > 0;
  if (hasCustom) {
    shape |= 1 << STANDARD_FIELDS.length;
    const set = param(JSON.stringify(patch.customSet), 'jsonb');
    const remove = param(patch.customRemove, 'text[]');
    sets.push(`custom_fields = (p.custom_fields || ${set}) - ${remove}`);
    differs.push(`(cur.custom_fields || ${set}) - ${remove} IS DISTINCT FROM cur.custom_fields`);
  }
  const text = `WITH cur AS (
      SELECT ${COLUMNS} FROM user_profile WHERE user_id = ${userParam} FOR UPDATE
    ), upd AS (
      UPDATE user_profile AS p SET ${sets.join(', ')}, last_updated_time = now()
      FROM cur
      WHERE p.user_id = cur.user_id AND (${differs.join(' OR ')})
      RETURNING ${COLUMNS.split(',')
        .map((c) => `p.${c.trim()}`)
        .join(', ')}
    )
    SELECT *, true AS changed FROM upd
    UNION ALL
    SELECT *, false AS changed FROM cur WHERE NOT EXISTS (SELECT 1 FROM upd)`;
  // Parameters are always in field order, so one shape always yields the same text: a prepared
  // statement per shape lets Postgres plan it once per connection.
  return { name: `user_profile_update_${shape}`, text, values };
}

export class UserProfileRepository {
  constructor(private readonly sql: SqlRunner) {}

  /** One statement for any number of IDs; rows come back in no particular order. */
  async findByIds(userIDs: readonly string[]): Promise<ProfileRecord[]> {
    const rows = await this.sql.query<ProfileRow>({ ...FIND_BY_IDS, values: [userIDs] });
    return rows.map(toRecord);
  }

  /** Creates the account with default values if it does not exist; safe under concurrency. */
  async createIfMissing(userID: string): Promise<ProfileRecord> {
    const [row] = await this.sql.query<ProfileRow>({ ...CREATE_IF_MISSING, values: [userID] });
    return toRecord(row);
  }

  /** Applies a patch in one statement (one transaction). Undefined when the account does not exist. */
  async applyPatch(userID: string, patch: ProfilePatch): Promise<UpdateResult | undefined> {
    const query = buildUpdate(patch);
    query.values![0] = userID;
    const [row] = await this.sql.query<ProfileRow & { changed: boolean }>(query);
    return row === undefined ? undefined : { profile: toRecord(row), changed: row.changed };
  }
}
