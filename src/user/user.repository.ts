import type { InputDataException } from '../db/database-errors.js';
import type { SqlRunner, Statement } from '../db/sql-runner.js';
import { PROFILE_ROW_TYPES } from '../db/profile-row-types.js';
import type { TransactionScope } from '../db/transaction.js';
import { DETACHED_OUTBOX, outboxInsert, type Outbox } from '../events/outbox.repository.js';
import {
  postgresTypeOf,
  PROFILE_FIELDS,
  STANDARD_FIELDS,
  type StandardField,
  type StandardValues,
} from './profile-fields.js';

/** A validated update: the standard columns to set, custom values to set and custom keys to remove. */
export interface ProfilePatch {
  readonly standard: Partial<StandardValues>;
  readonly customSet: Readonly<Record<string, string>>;
  readonly customRemove: readonly string[];
}

/** A profile as stored: standard values plus every stored custom value, visible or not. */
export interface ProfileRecord extends StandardValues {
  readonly userID: string;
  readonly customFields: Readonly<Record<string, string>>;
  readonly lastUpdatedTime: Date;
  /** When an administrator deactivated the account; null while it is active. */
  readonly deactivatedAt: Date | null;
}

export interface UpdateResult {
  readonly profile: ProfileRecord;
  /** False when every value in the patch equalled the stored one: nothing was written. */
  readonly changed: boolean;
}

/** Every column a profile is read with, the standard fields' in declaration order. */
const COLUMNS = [
  'user_id',
  ...STANDARD_FIELDS.map((field) => PROFILE_FIELDS[field].column),
  'custom_fields',
  'last_updated_time',
  'deactivated_at',
].join(', ');

/**
 * The same columns named as ProfileRecord's properties, for a statement's outer select list or
 * RETURNING (`from` qualifies each column: a CTE's name). With PROFILE_ROW_TYPES (bigint columns as
 * numbers, timestamps as Dates) pg's row is the record itself: no second object per profile, which
 * on a 100-profile read is a hundred objects of some twenty properties each alive until the answer
 * is sent. Field names and columns are identifiers from our own table, checked here.
 */
function recordColumns(from?: string): string {
  const column = (name: string) => (from === undefined ? name : `${from}.${name}`);
  const standard = STANDARD_FIELDS.map((field) => {
    const spec = PROFILE_FIELDS[field];
    if (!/^[a-z][A-Za-z0-9]*$/.test(field) || !/^[a-z][a-z0-9_]*$/.test(spec.column)) {
      throw new Error(`profile field ${field} (${spec.column}) is not a plain identifier`);
    }
    return `${column(spec.column)} AS "${field}"`;
  });
  return [
    `${column('user_id')} AS "userID"`,
    ...standard,
    `${column('custom_fields')} AS "customFields"`,
    `${column('last_updated_time')} AS "lastUpdatedTime"`,
    `${column('deactivated_at')} AS "deactivatedAt"`,
  ].join(', ');
}

const RECORD_COLUMNS = recordColumns();

/** The data exceptions a client's text can cause (IDs, nick, avatar): a NUL. */
const TEXT_INPUT_EXCEPTIONS: readonly InputDataException[] = ['22021'];

/** A patch's: a NUL in text, a \u0000 in a custom value (jsonb), a number beyond smallint or bigint. */
const PATCH_INPUT_EXCEPTIONS: readonly InputDataException[] = ['22021', '22P05', '22003'];

// One ID (every `me`, and most entity look-ups) skips the array parameter's encoding and parsing.
const FIND_ONE: Omit<Statement, 'values'> = {
  name: 'user_profile_find_one',
  types: PROFILE_ROW_TYPES,
  text: `SELECT ${RECORD_COLUMNS} FROM user_profile WHERE user_id = $1::text`,
  fromInput: TEXT_INPUT_EXCEPTIONS,
};

const FIND_BY_IDS: Omit<Statement, 'values'> = {
  name: 'user_profile_find_by_ids',
  types: PROFILE_ROW_TYPES,
  text: `SELECT ${RECORD_COLUMNS} FROM user_profile WHERE user_id = ANY($1::text[])`,
  fromInput: TEXT_INPUT_EXCEPTIONS,
};

/**
 * IDs cannot hold control characters (see validateUserID), so a list of them travels as one string
 * joined by U+0001: a native join instead of pg's array literal, which quotes and escapes each
 * element in JavaScript (a 100-ID read spent more allocating that literal than reading its rows).
 */
const ID_SEPARATOR = '\u0001';
const FIND_BY_JOINED_IDS: Omit<Statement, 'values'> = {
  name: 'user_profile_find_by_joined_ids',
  types: PROFILE_ROW_TYPES,
  text: `SELECT ${RECORD_COLUMNS} FROM user_profile WHERE user_id = ANY(string_to_array($1::text, chr(1)))`,
  fromInput: TEXT_INPUT_EXCEPTIONS,
};

/**
 * SQL: the account `userID` (an SQL expression) may be created for a token issued in the second
 * `issuedAt` (seconds; 0 when the token names none): it was not deleted at or after that second.
 * Every statement that creates accounts on first use checks this.
 */
export const notDeletedSince = (userID: string, issuedAt: string): string =>
  `NOT EXISTS (SELECT 1 FROM account_tombstone
      WHERE user_id_digest = sha256(convert_to(${userID}, 'UTF8')) AND deleted_at >= to_timestamp(${issuedAt}))`;

const CREATE_IF_MISSING: Omit<Statement, 'values'> = {
  name: 'user_profile_create_if_missing',
  types: PROFILE_ROW_TYPES,
  // DO UPDATE (a no-op) rather than DO NOTHING so the row comes back whether or not it was new.
  // No row at all when the ID was deleted at or after the second the caller's token was issued
  // ($2; 0 when it names none): a token older than the deletion cannot bring the account back.
  text: `INSERT INTO user_profile (user_id)
    SELECT $1::text WHERE ${notDeletedSince('$1::text', '$2::bigint')}
    ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
    RETURNING ${RECORD_COLUMNS}`,
  fromInput: TEXT_INPUT_EXCEPTIONS,
};

/** The standard fields a patch sets, in field order (whatever order its object was built in). */
function patchedFields(patch: ProfilePatch): StandardField[] {
  return STANDARD_FIELDS.filter((field) => patch.standard[field] !== undefined);
}

/**
 * A patch's parameters, in the order its statement numbers them: the user, each patched standard
 * value in field order, the custom values to set (jsonb) and keys to remove when custom fields
 * change, then operator, relay owner and webhook pending (filled per call). `shape` says which
 * fields the patch holds: one shape always yields the same statement text.
 */
function updateParameters(patch: ProfilePatch): { shape: number; values: unknown[] } {
  const values: unknown[] = [undefined];
  let shape = 0;
  for (const field of patchedFields(patch)) {
    shape |= 1 << STANDARD_FIELDS.indexOf(field);
    values.push(patch.standard[field]);
  }
  if (Object.keys(patch.customSet).length > 0 || patch.customRemove.length > 0) {
    shape |= 1 << STANDARD_FIELDS.length;
    values.push(JSON.stringify(patch.customSet), patch.customRemove);
  }
  values.push(undefined, undefined, undefined);
  return { shape, values };
}

/**
 * The single statement that applies a patch of this shape: it locks the row, writes only the
 * patched columns and merges custom fields by key against the locked (latest) row, and touches
 * `last_updated_time` only when some value differs. When it writes, it also writes the change into
 * the `profile_event` outbox (operator, owner, time, and only the fields whose value differs), so an
 * event exists exactly when a change commits. Returns the new row (changed = true, with the event
 * ID) or the current one (changed = false); no row when the account does not exist. Parameters
 * are numbered as updateParameters orders them.
 */
function buildUpdate(patch: ProfilePatch, shape: number): Omit<Statement, 'values'> {
  let parameters = 0;
  const param = (type: string): string => `$${(parameters += 1)}::${type}`;
  const userParam = param('text');
  const sets: string[] = [];
  const differs: string[] = [];
  const fields = patchedFields(patch);
  for (const field of fields) {
    const spec = PROFILE_FIELDS[field];
    const column = spec.column;
    const p = param(postgresTypeOf(spec));
    sets.push(`${column} = ${p}`);
    differs.push(`cur.${column} IS DISTINCT FROM ${p}`);
  }
  let customChanges = `'{}'::jsonb`;
  if ((shape & (1 << STANDARD_FIELDS.length)) !== 0) {
    const set = param('jsonb');
    const remove = param('text[]');
    sets.push(`custom_fields = (p.custom_fields || ${set}) - ${remove}`);
    differs.push(`(cur.custom_fields || ${set}) - ${remove} IS DISTINCT FROM cur.custom_fields`);
    customChanges = `(SELECT coalesce(jsonb_object_agg(k.key, upd.custom_fields -> k.key), '{}'::jsonb)
        FROM (SELECT jsonb_object_keys(${set}) UNION SELECT unnest(${remove})) AS k(key)
        WHERE cur.custom_fields -> k.key IS DISTINCT FROM upd.custom_fields -> k.key)`;
  }
  const standardChanges = fields.map((field) => {
    const column = PROFILE_FIELDS[field].column;
    return `CASE WHEN cur.${column} IS DISTINCT FROM upd.${column} THEN jsonb_build_object('${field}', upd.${column}) ELSE '{}'::jsonb END`;
  });
  const operator = param('text');
  const relayOwner = param('text');
  const webhookPending = param('boolean');
  const text = `WITH cur AS (
      SELECT ${COLUMNS} FROM user_profile WHERE user_id = ${userParam} FOR UPDATE
    ), upd AS (
      UPDATE user_profile AS p SET ${sets.join(', ')}, last_updated_time = now()
      FROM cur
      WHERE p.user_id = cur.user_id AND (${differs.join(' OR ')})
      RETURNING ${COLUMNS.split(',')
        .map((c) => `p.${c.trim()}`)
        .join(', ')}
    ), evt AS (
      ${outboxInsert(
        {
          userID: 'upd.user_id',
          operator,
          eventTime: 'upd.last_updated_time',
          changedFields: standardChanges.length > 0 ? standardChanges.join(' || ') : `'{}'::jsonb`,
          changedCustomFields: customChanges,
          relayOwner,
          webhookPending,
        },
        { from: 'upd CROSS JOIN cur', returning: 'event_id' },
      )}
    )
    SELECT ${recordColumns('upd')}, true AS changed, (SELECT event_id FROM evt)::text AS "eventID" FROM upd
    UNION ALL
    SELECT ${recordColumns('cur')}, false AS changed, NULL::text AS "eventID" FROM cur WHERE NOT EXISTS (SELECT 1 FROM upd)`;
  // A prepared statement per shape lets Postgres plan it once per connection.
  return { name: `user_profile_update_${shape}`, types: PROFILE_ROW_TYPES, text, fromInput: PATCH_INPUT_EXCEPTIONS };
}

/**
 * Update statements by shape, built on first use: building one is string work of some kilobytes
 * that every write would otherwise repeat. Clients choose the shapes (up to 2^14), so past this
 * many a statement is built per call and not kept; everyday clients use a handful.
 */
const UPDATE_STATEMENTS = new Map<number, Omit<Statement, 'values'>>();
const MAX_UPDATE_STATEMENTS = 256;

function updateStatementFor(patch: ProfilePatch): Statement {
  const { shape, values } = updateParameters(patch);
  let statement = UPDATE_STATEMENTS.get(shape);
  if (statement === undefined) {
    statement = buildUpdate(patch, shape);
    if (UPDATE_STATEMENTS.size < MAX_UPDATE_STATEMENTS) UPDATE_STATEMENTS.set(shape, statement);
  }
  return { ...statement, values };
}

/** An account to import: absent nick or avatar means "leave as it is" (or the default when new). */
export interface AccountImport {
  readonly userID: string;
  readonly nick?: string;
  readonly avatar?: string;
}

/**
 * Creates missing accounts and sets the given nick and avatar on existing ones, in one statement.
 * An existing account whose nick or avatar really changes gets an outbox event (as an update does),
 * compared against the old values that `cur` reads and locks.
 */
const IMPORT_ACCOUNTS: Omit<Statement, 'values'> = {
  name: 'user_profile_import_accounts',
  types: PROFILE_ROW_TYPES,
  text: `WITH input AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS i(user_id, nick, avatar)
    ), cur AS (
      SELECT p.user_id, p.nick, p.avatar FROM user_profile AS p JOIN input USING (user_id) FOR UPDATE OF p
    ), ins AS (
      INSERT INTO user_profile AS p (user_id, nick, avatar)
      -- Joining cur makes it read (and lock) the old rows before any is replaced: a row this very
      -- statement has already updated could no longer be locked, and would be missing from cur.
      SELECT i.user_id, coalesce(i.nick, ''), coalesce(i.avatar, '') FROM input AS i LEFT JOIN cur USING (user_id)
      ON CONFLICT (user_id) DO UPDATE SET
        nick = coalesce((SELECT i.nick FROM input i WHERE i.user_id = EXCLUDED.user_id), p.nick),
        avatar = coalesce((SELECT i.avatar FROM input i WHERE i.user_id = EXCLUDED.user_id), p.avatar),
        last_updated_time = CASE
          WHEN coalesce((SELECT i.nick FROM input i WHERE i.user_id = EXCLUDED.user_id), p.nick) IS DISTINCT FROM p.nick
            OR coalesce((SELECT i.avatar FROM input i WHERE i.user_id = EXCLUDED.user_id), p.avatar) IS DISTINCT FROM p.avatar
          THEN now() ELSE p.last_updated_time END
      RETURNING ${COLUMNS}
    ), evt AS (
      ${outboxInsert(
        {
          userID: 'ins.user_id',
          operator: '$4::text',
          eventTime: 'ins.last_updated_time',
          changedFields: `CASE WHEN cur.nick IS DISTINCT FROM ins.nick THEN jsonb_build_object('nick', ins.nick) ELSE '{}'::jsonb END
          || CASE WHEN cur.avatar IS DISTINCT FROM ins.avatar THEN jsonb_build_object('avatar', ins.avatar) ELSE '{}'::jsonb END`,
          changedCustomFields: `'{}'::jsonb`,
          relayOwner: '$5::text',
          webhookPending: '$6::boolean',
        },
        {
          from: 'ins JOIN cur USING (user_id)',
          where: 'cur.nick IS DISTINCT FROM ins.nick OR cur.avatar IS DISTINCT FROM ins.avatar',
          returning: 'user_id, event_id',
        },
      )}
    )
    SELECT ${recordColumns('ins')}, evt.event_id::text AS "eventID" FROM ins LEFT JOIN evt USING (user_id)`,
  fromInput: TEXT_INPUT_EXCEPTIONS,
};

export class UserProfileRepository {
  constructor(
    private readonly sql: SqlRunner,
    private readonly outbox: Outbox = DETACHED_OUTBOX,
    /** Where findByIds reads (a replica's runner, see src/db/replicas.ts); writes always use `sql`. */
    private readonly reads: SqlRunner = sql,
  ) {}

  /** This repository inside `scope`'s transaction: its statements join it, and it wakes the relay after the commit. */
  within(scope: TransactionScope): UserProfileRepository {
    const { afterChange } = this.outbox;
    return new UserProfileRepository(this.sql.on(scope.client), {
      ...this.outbox,
      afterChange: afterChange && ((userID, eventID) => scope.afterCommit(() => afterChange(userID, eventID))),
    });
  }

  /** This repository with findByIds on `reads`. */
  readingFrom(reads: SqlRunner): UserProfileRepository {
    return new UserProfileRepository(this.sql, this.outbox, reads);
  }

  /** One statement for any number of IDs; rows come back in no particular order. */
  async findByIds(userIDs: readonly string[]): Promise<ProfileRecord[]> {
    let query: Statement;
    if (userIDs.length === 1) query = { ...FIND_ONE, values: [userIDs[0]] };
    else if (userIDs.some((userID) => userID.includes(ID_SEPARATOR))) query = { ...FIND_BY_IDS, values: [userIDs] };
    else query = { ...FIND_BY_JOINED_IDS, values: [userIDs.join(ID_SEPARATOR)] };
    return this.reads.query<ProfileRecord>(query);
  }

  /**
   * Creates the account with default values if it does not exist; safe under concurrency.
   * Undefined when the ID was deleted after a token issued at `issuedAt` (seconds; 0 when unknown).
   */
  async createIfMissing(userID: string, issuedAt = 0): Promise<ProfileRecord | undefined> {
    const [record] = await this.sql.query<ProfileRecord>({
      ...CREATE_IF_MISSING,
      values: [userID, Math.floor(issuedAt)],
    });
    return record;
  }

  /**
   * Applies a patch in one statement (one transaction), recording `operator` (who made the change)
   * in the outbox event. Undefined when the account does not exist.
   */
  async applyPatch(userID: string, patch: ProfilePatch, operator: string): Promise<UpdateResult | undefined> {
    const query = updateStatementFor(patch);
    const values = query.values!;
    values[0] = userID;
    values[values.length - 3] = operator;
    values[values.length - 2] = this.outbox.relayOwner;
    values[values.length - 1] = this.outbox.webhookPending;
    const [row] = await this.sql.query<ProfileRecord & { changed: boolean; eventID: string | null }>(query);
    if (row === undefined) return undefined;
    const { changed, eventID, ...profile } = row;
    if (eventID !== null) this.outbox.afterChange?.(userID, eventID);
    return { profile, changed };
  }

  /**
   * Creates the accounts that do not exist and sets the given nick and avatar on those that do,
   * in one statement, with an outbox event (recording `operator`) for each existing account whose
   * values changed. IDs must be distinct. Returns the rows in the order given.
   */
  async importAccounts(accounts: readonly AccountImport[], operator: string): Promise<ProfileRecord[]> {
    if (accounts.length === 0) return [];
    const rows = await this.sql.query<ProfileRecord & { eventID: string | null }>({
      ...IMPORT_ACCOUNTS,
      values: [
        accounts.map((account) => account.userID),
        accounts.map((account) => account.nick ?? null),
        accounts.map((account) => account.avatar ?? null),
        operator,
        this.outbox.relayOwner,
        this.outbox.webhookPending,
      ],
    });
    const byID = new Map<string, ProfileRecord>();
    for (const { eventID, ...record } of rows) {
      if (eventID !== null) this.outbox.afterChange?.(record.userID, eventID);
      byID.set(record.userID, record);
    }
    return accounts.map((account) => byID.get(account.userID)!);
  }
}
