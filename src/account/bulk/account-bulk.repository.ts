import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createSqlRunner, type SqlRunner } from '../../db/sql-runner.js';
import { outboxInsert, type Outbox } from '../../events/outbox.repository.js';
import { CUSTOM_FIELD_KEY_PATTERN } from '../../shared/input-rules.js';
import { AccountStatus } from '../../user/user.enums.js';
import {
  defaultOf,
  postgresTypeOf,
  PROFILE_FIELDS,
  STANDARD_FIELDS,
  type FieldSpec,
  type StandardField,
} from '../../user/profile-fields.js';
import type { ProfilePatch } from '../../user/user.repository.js';
import type { BulkFormat } from './bulk-format.model.js';

/**
 * The SQL of `npm run accounts`: a staging table that COPY fills, the one set-based statement that
 * merges it into `user_profile`, and the COPY that writes every profile out. Column lists, casts,
 * defaults, the JSON of each format and Tencent's value names all come from the field table.
 */

// Field names and columns go into SQL text: they must be plain identifiers (they are, in our table).
for (const field of STANDARD_FIELDS) {
  if (!/^[a-z][A-Za-z0-9]*$/.test(field) || !/^[a-z][a-z0-9_]*$/.test(PROFILE_FIELDS[field].column)) {
    throw new Error(`profile field ${field} (${PROFILE_FIELDS[field].column}) is not a plain identifier`);
  }
}

const STAGING = 'account_import_staging';
const column = (field: StandardField): string => PROFILE_FIELDS[field].column;
const COLUMNS = STANDARD_FIELDS.map(column);
const sqlString = (text: string): string => `'${text.replace(/'/g, "''")}'`;
const sqlLiteral = (value: string | number): string => (typeof value === 'number' ? String(value) : sqlString(value));

/**
 * One row per line that passed the checks: its line number, the account, and each standard column
 * the line sets (NULL: the line leaves it alone). `custom` is the custom fields the line names: a
 * value to set, or JSON null to remove the field (NULL when it names none).
 */
const CREATE_STAGING = `CREATE TEMPORARY TABLE ${STAGING} (
    line bigint NOT NULL,
    user_id text NOT NULL,
    ${STANDARD_FIELDS.map((field) => `${column(field)} ${postgresTypeOf(PROFILE_FIELDS[field])}`).join(',\n    ')},
    custom jsonb
  ) ON COMMIT DROP`;

/** The first line naming each account the import has staged so far: a later one is a duplicate. */
const FIRST_LINES = 'account_import_first_line';
const CREATE_FIRST_LINES = `CREATE TEMPORARY TABLE ${FIRST_LINES} (
    user_id text PRIMARY KEY,
    line bigint NOT NULL
  ) ON COMMIT DROP`;

const COPY_INTO_STAGING = `COPY ${STAGING} (line, user_id, ${COLUMNS.join(', ')}, custom) FROM STDIN`;

/** COPY's text format: backslash, newline, carriage return and tab are escaped; `\N` is NULL. */
const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
function copyText(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\n\r\t]/g, (special) => COPY_ESCAPES[special]) : value;
}

/** A staged row as one line of COPY text (with its newline), columns in the order of COPY_INTO_STAGING. */
export function encodeStagedRow(line: number, userID: string, patch: ProfilePatch): string {
  let text = `${line}\t${copyText(userID)}`;
  const standard = patch.standard as Partial<Record<StandardField, string | number>>;
  for (const field of STANDARD_FIELDS) {
    const value = standard[field];
    text += value === undefined ? '\t\\N' : `\t${typeof value === 'number' ? value : copyText(value)}`;
  }
  let custom = JSON.stringify(patch.customSet);
  if (patch.customRemove.length > 0) {
    const removed = patch.customRemove.map((key) => `${JSON.stringify(key)}:null`).join(',');
    custom = custom === '{}' ? `{${removed}}` : `${custom.slice(0, -1)},${removed}}`;
  } else if (custom === '{}') {
    return `${text}\t\\N\n`;
  }
  return `${text}\t${copyText(custom)}\n`;
}

// `o` is the profile as it is (NULL for an account to create), `n.custom_fields` the custom fields
// the staged row leaves it with. `s.col <> o.col` is NULL (not a difference) where the row leaves
// the column alone.
const mergedCustom = `CASE WHEN s.custom IS NULL THEN o.custom_fields
      ELSE jsonb_strip_nulls(coalesce(o.custom_fields, '{}'::jsonb) || s.custom) END`;
const DIFFERS = [...COLUMNS.map((c) => `s.${c} <> o.${c}`), 'n.custom_fields <> o.custom_fields'].join('\n       OR ');
const CHANGED_FIELDS = STANDARD_FIELDS.map(
  (field) =>
    `CASE WHEN s.${column(field)} <> o.${column(field)} THEN jsonb_build_object(${sqlString(field)}, s.${column(field)}) ELSE '{}'::jsonb END`,
).join('\n         || ');
const CHANGED_CUSTOM_FIELDS = `CASE WHEN s.custom IS NULL THEN '{}'::jsonb ELSE (
         SELECT coalesce(jsonb_object_agg(k.key, n.custom_fields -> k.key), '{}'::jsonb)
         FROM jsonb_object_keys(s.custom) AS k(key)
         WHERE o.custom_fields -> k.key IS DISTINCT FROM n.custom_fields -> k.key) END`;
const withDefault = (field: StandardField): string => {
  const spec: FieldSpec = PROFILE_FIELDS[field];
  return `coalesce(c.${column(field)}, ${sqlLiteral(defaultOf(spec))}::${postgresTypeOf(spec)})`;
};

/**
 * The merge, one statement. `work` is what the staged rows change, found in one join of the
 * staging table with user_profile: the existing profiles a row changes (their new values and the
 * changes, diffed against the row version read, `seen_xmin`), and the accounts to create
 * (`seen_xmin` NULL). `upd` writes the changes if the version read is still the current one, and
 * `evt` writes one outbox event per profile written; `ins` creates the new accounts with defaults
 * for what their rows leave out, and no event. Unchanged profiles are neither locked nor written.
 *
 * Nothing is locked before it is written, so a profile that another transaction changes (or
 * creates) after this statement's snapshot is left out rather than overwritten from stale values:
 * the counts tell (`candidates` > `changed`, `fresh` > `created`), and the caller runs the statement
 * again, which then sees the newer version.
 */
const MERGE = `WITH work AS MATERIALIZED (
    SELECT s.user_id, o.xmin AS seen_xmin,
      ${STANDARD_FIELDS.map((field) => `coalesce(s.${column(field)}, o.${column(field)}) AS ${column(field)}`).join(',\n      ')},
      n.custom_fields,
      CASE WHEN o.user_id IS NOT NULL THEN ${CHANGED_FIELDS} END AS changed_fields,
      CASE WHEN o.user_id IS NOT NULL THEN ${CHANGED_CUSTOM_FIELDS} END AS changed_custom_fields
    FROM ${STAGING} AS s
    LEFT JOIN user_profile AS o USING (user_id)
    CROSS JOIN LATERAL (SELECT ${mergedCustom} AS custom_fields) AS n
    WHERE o.user_id IS NULL
       OR ${DIFFERS}
  ), upd AS (
    UPDATE user_profile AS p
    SET ${COLUMNS.map((c) => `${c} = c.${c}`).join(', ')}, custom_fields = c.custom_fields, last_updated_time = now()
    FROM work AS c
    WHERE p.user_id = c.user_id AND p.xmin = c.seen_xmin
    RETURNING p.user_id, p.last_updated_time, c.changed_fields, c.changed_custom_fields
  ), evt AS (
    ${outboxInsert(
      {
        userID: 'upd.user_id',
        operator: '$1::text',
        eventTime: 'upd.last_updated_time',
        changedFields: 'upd.changed_fields',
        changedCustomFields: 'upd.changed_custom_fields',
        relayOwner: '$2::text',
        webhookPending: '$3::boolean',
      },
      { from: 'upd', returning: 'event_id' },
    )}
  ), ins AS (
    INSERT INTO user_profile (user_id, ${COLUMNS.join(', ')}, custom_fields)
    SELECT c.user_id, ${STANDARD_FIELDS.map(withDefault).join(', ')}, coalesce(c.custom_fields, '{}'::jsonb)
    FROM work AS c
    WHERE c.seen_xmin IS NULL
    ON CONFLICT (user_id) DO NOTHING
    RETURNING user_id
  )
  SELECT (SELECT count(*) FROM work WHERE seen_xmin IS NOT NULL)::int AS candidates,
    (SELECT count(*) FROM upd)::int AS changed, (SELECT count(*) FROM evt)::int AS events,
    (SELECT count(*) FROM work WHERE seen_xmin IS NULL)::int AS fresh, (SELECT count(*) FROM ins)::int AS created`;

/** Staged lines naming an account an earlier line of the file names (in this batch or before). */
const DUPLICATES = `SELECT s.line, s.user_id, f.line AS first FROM ${STAGING} AS s
    JOIN ${FIRST_LINES} AS f USING (user_id)
    WHERE s.line > f.line`;

export interface DuplicateLine {
  readonly line: number;
  readonly userID: string;
  /** The first line that names the account. */
  readonly first: number;
}

export interface MergeCounts {
  /** Existing profiles the staged rows change (as this statement's snapshot saw them). */
  readonly candidates: number;
  /** Of those, the ones written (each with one outbox event). */
  readonly changed: number;
  readonly events: number;
  /** Staged rows with no profile (as the snapshot saw it). */
  readonly fresh: number;
  /** Of those, the accounts created. */
  readonly created: number;
}

/** The JSON text of a standard field's value, as each format writes it. */
function jsonValue(field: StandardField, format: 'ours' | 'tencent'): string {
  const spec: FieldSpec = PROFILE_FIELDS[field];
  const c = column(field);
  switch (spec.kind) {
    case 'text':
      return `to_json(${c})::text`;
    case 'uint32':
    case 'choice':
      return `${c}::text`;
    case 'enum':
      if (format === 'ours') return `to_json(${c})::text`;
      return `CASE ${c} ${Object.entries(spec.tencentValues)
        .map(([ours, theirs]) => `WHEN ${sqlString(ours)} THEN ${sqlString(JSON.stringify(theirs))}`)
        .join(' ')} END`;
  }
}

/** `(key, value)` of the custom fields `keys` names that the profile holds, for a string_agg. */
function customEntries(keys: readonly string[], item: string, separator: string, wrap: [string, string]): string {
  if (keys.length === 0) return sqlString(wrap[0] + wrap[1]);
  for (const key of keys) if (!CUSTOM_FIELD_KEY_PATTERN.test(key)) throw new Error(`not a custom field key: ${key}`);
  const list = `ARRAY[${keys.map(sqlString).join(', ')}]::text[]`;
  return `CASE WHEN custom_fields = '{}'::jsonb THEN ${sqlString(wrap[0] + wrap[1])} ELSE coalesce(
      (SELECT ${sqlString(wrap[0])} || string_agg(${item}, ${sqlString(separator)} ORDER BY e.key) || ${sqlString(wrap[1])}
       FROM jsonb_each_text(custom_fields) AS e WHERE e.key = ANY (${list})),
      ${sqlString(wrap[0] + wrap[1])}) END`;
}

/** One JSON text per profile, in the export format, ordered by account. */
function exportSelect(format: BulkFormat, customKeys: readonly string[]): string {
  if (format === 'profile') {
    const parts = [
      `'{"userID":' || to_json(user_id)::text`,
      ...STANDARD_FIELDS.map((field) => `${sqlString(`,${JSON.stringify(field)}:`)} || ${jsonValue(field, 'ours')}`),
      `',"profileCustomField":' || ${customEntries(customKeys, `'{"key":' || to_json(e.key)::text || ',"value":' || to_json(e.value)::text || '}'`, ',', ['[', ']'])}`,
      `CASE WHEN deactivated_at IS NULL THEN '' ELSE ${sqlString(`,"accountStatus":${JSON.stringify(AccountStatus.DEACTIVATED)}`)} END`,
      `'}'`,
    ];
    return `SELECT ${parts.join('\n    || ')} FROM user_profile ORDER BY user_id`;
  }
  const items = STANDARD_FIELDS.map(
    (field) =>
      `${sqlString(`{"Tag":${JSON.stringify(PROFILE_FIELDS[field].tencentTag)},"Value":`)} || ${jsonValue(field, 'tencent')} || '}'`,
  );
  const parts = [
    `'{"To_Account":' || to_json(user_id)::text || ',"ProfileItem":['`,
    items.join(` || ',' || `),
    customEntries(
      customKeys,
      `',{"Tag":' || to_json(e.key)::text || ',"Value":' || to_json(e.value)::text || '}'`,
      '',
      ['', ''],
    ),
    format === 'portrait_get' ? `'],"ResultCode":0,"ResultInfo":""}'` : `']}'`,
  ];
  return `SELECT ${parts.join('\n    || ')} FROM user_profile ORDER BY user_id`;
}

/**
 * COPY's CSV format writes a value as it is unless it holds the delimiter, the quote or a line
 * break; JSON text holds no control character (to_json escapes them), so with two control
 * characters as delimiter and quote every row comes out as its JSON and a newline. (The text
 * format would double every backslash of the JSON.)
 */
const AS_LINES = `WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`;

export class AccountBulkRepository {
  private readonly sql: SqlRunner;

  /** On `client`, whose transaction the caller holds: the staging table lives and dies with it. */
  constructor(private readonly client: PoolClient) {
    this.sql = createSqlRunner(client);
  }

  /** The staging tables, and settings for a long set-based transaction (this one only). */
  async createStaging(): Promise<void> {
    await this.sql.query({ text: `SET LOCAL statement_timeout = 0` });
    // Hashing a batch of IDs in memory rather than in parts on disk.
    await this.sql.query({ text: `SET LOCAL work_mem = '64MB'` });
    await this.sql.query({ text: CREATE_STAGING });
    await this.sql.query({ text: CREATE_FIRST_LINES });
  }

  /** Streams COPY text (see encodeStagedRow) into the staging table. */
  async copyIntoStaging(rows: Iterable<Buffer | string> | AsyncIterable<Buffer | string>): Promise<void> {
    await pipeline(Readable.from(rows, { objectMode: false }), this.client.query(copyFrom(COPY_INTO_STAGING)));
    // Temporary tables are never analyzed automatically; the merge's joins are planned on these numbers.
    await this.sql.query({ text: `ANALYZE ${STAGING}` });
  }

  /** Records the first line of each account staged that no earlier line named; returns how many. */
  async recordFirstLines(): Promise<number> {
    const [row] = await this.sql.query<{ recorded: number }>({
      text: `WITH recorded AS (
          INSERT INTO ${FIRST_LINES} (user_id, line)
          SELECT user_id, min(line) FROM ${STAGING} GROUP BY user_id
          ON CONFLICT (user_id) DO NOTHING
          RETURNING 1)
        SELECT count(*)::int AS recorded FROM recorded`,
    });
    return row.recorded;
  }

  /** Every staged line naming an account an earlier line names, in line order, `batch` at a time (a cursor). */
  async *duplicateLines(batch = 1000): AsyncGenerator<DuplicateLine[]> {
    await this.sql.query({
      text: `DECLARE account_import_duplicates NO SCROLL CURSOR FOR ${DUPLICATES} ORDER BY s.line`,
    });
    try {
      for (;;) {
        const rows = await this.sql.query<{ line: string; user_id: string; first: string }>({
          text: `FETCH ${batch} FROM account_import_duplicates`,
        });
        if (rows.length === 0) return;
        yield rows.map((row) => ({ line: Number(row.line), userID: row.user_id, first: Number(row.first) }));
      }
    } finally {
      await this.sql.query({ text: `CLOSE account_import_duplicates` });
    }
  }

  /** Leaves only the first line of each account in the staging table. */
  async dropDuplicateLines(): Promise<void> {
    await this.sql.query({
      text: `DELETE FROM ${STAGING} AS s USING ${FIRST_LINES} AS f WHERE s.user_id = f.user_id AND s.line > f.line`,
    });
  }

  /** Empties the staging table for the next batch. */
  async clearStaging(): Promise<void> {
    await this.sql.query({ text: `TRUNCATE ${STAGING}` });
  }

  /** Merges the staging table into user_profile (see MERGE); `operator` is recorded in the events. */
  async merge(operator: string, outbox: Pick<Outbox, 'relayOwner' | 'webhookPending'>): Promise<MergeCounts> {
    const [counts] = await this.sql.query<{
      candidates: number;
      changed: number;
      events: number;
      fresh: number;
      created: number;
    }>({ text: MERGE, values: [operator, outbox.relayOwner, outbox.webhookPending] });
    return counts;
  }

  /** How many profiles an export in this transaction writes. */
  async countProfiles(): Promise<number> {
    const [row] = await this.sql.query<{ total: number }>({ text: `SELECT count(*)::int AS total FROM user_profile` });
    return row.total;
  }

  /**
   * Every profile as one line of JSON in `format` (for portrait_get, the answer's items, without the
   * commas between them), with the custom fields `customKeys` names, ordered by account. The rows
   * stream from the server as the reader takes them.
   */
  exportLines(format: BulkFormat, customKeys: readonly string[]): Readable {
    return this.client.query(copyTo(`COPY (${exportSelect(format, customKeys)}) TO STDOUT ${AS_LINES}`));
  }
}
