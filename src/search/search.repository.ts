import type { Pool } from 'pg';
import type { InputDataException } from '../db/database-errors.js';
import { createSqlRunner, type Statement } from '../db/sql-runner.js';
import { onConnection } from '../db/transaction.js';
import { PROFILE_FIELDS, type Gender } from '../user/profile-fields.js';
import { KeywordMatch, SearchTier } from './search.enums.js';

/** Where a page starts: after this user of this tier. */
export interface SearchPosition {
  readonly tier: SearchTier;
  readonly userID: string;
}

/** A validated search (see search.rules.ts). */
export interface SearchQuery {
  /** Trimmed and distinct, as given: a user ID equals one exactly, a nickname contains its normalized form. */
  readonly keywords: readonly string[];
  readonly match: KeywordMatch;
  readonly genders?: readonly Gender[];
  /** Inclusive YYYYMMDD bounds; a profile without a birthday (0) is outside any. */
  readonly birthday?: { readonly min: number; readonly max: number };
  /** How many matches to read. */
  readonly limit: number;
  readonly after?: SearchPosition;
}

export interface SearchHit {
  readonly userID: string;
  readonly tier: SearchTier;
}

/**
 * How a tier (the nicknames that start with a keyword, or contain one later) is read, in user ID
 * order, with the indexes of migrations/1796185000000-user-search.ts:
 *
 * 1. A walk of the first FIRST_WALK_ROWS users after the page's position along
 *    `user_profile_search_walk` (user ID and normalized nickname, an index-only scan: no row is
 *    read but a match's), stopping as soon as the page is full. A keyword in more than about one
 *    nickname in fifty fills a page here.
 * 2. If that walk found matches but not enough, the keyword is common enough to walk on: up to
 *    WALK_ROWS users after its last match.
 * 3. If the first walk found none, the keyword is rare: the candidates `user_profile_search_codes`
 *    (GIN) holds after the page's position, checked against the normalized nickname and sorted
 *    (the first walk's users are among them, and matched none). If the second walk found too few,
 *    the same after the last user it walked. Rare means few, so the sort is small.
 *
 * So a page never sorts every match of a common keyword, nor walks far for a rare one. Each step
 * is a CTE behind a gate of one-time filters: it runs only when the steps before it fell short.
 */
export const FIRST_WALK_ROWS = 1000;
export const WALK_ROWS = 20000;

const NICK = PROFILE_FIELDS.nick.column;
const GENDER = PROFILE_FIELDS.gender.column;
const BIRTHDAY = PROFILE_FIELDS.birthday.column;
const GENDER_TYPE = PROFILE_FIELDS.gender.enumName;

/** A keyword is client text: a NUL cannot reach Postgres (the rules refuse control characters first). */
const KEYWORD_INPUT_EXCEPTIONS: readonly InputDataException[] = ['22021'];

/** The parameters every shape shares; the keywords follow, one parameter each. */
const P = {
  tier: '$1::int',
  userID: '$2::text',
  limit: '$3::int',
  genders: `$4::${GENDER_TYPE}[]`,
  min: '$5::bigint',
  max: '$6::bigint',
} as const;
const FIRST_KEYWORD_PARAM = 7;

/**
 * Settings for the search's own transaction. JIT compilation and parallel workers each take longer
 * to start (tens of milliseconds here) than a whole search, and the statement's estimated cost can
 * pass the thresholds of both with five keywords. Planning it takes 1.5-3 ms, often more than
 * running it, and Postgres would plan it anew for every execution, since the parameters make each
 * custom plan look cheaper than the generic one; but every step's shape is fixed by the statement
 * (the keywords' values reach the steps as one-time parameters), so the generic plan is the one
 * wanted.
 */
const BEGIN_SEARCH = `BEGIN READ ONLY; SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0;
  SET LOCAL plan_cache_mode = force_generic_plan`;

type NickTier = SearchTier.PREFIX | SearchTier.CONTAINS;

/** The statement for one shape (keyword count and match), built once per shape. */
function buildSearch(keywordCount: number, match: KeywordMatch): string {
  const indexes = Array.from({ length: keywordCount }, (_, i) => i + 1);
  const raw = (i: number) => `$${FIRST_KEYWORD_PARAM + i - 1}::text`;
  const rawList = `ARRAY[${indexes.map(raw).join(', ')}]`;
  // Each keyword is normalized once, in `kw`; the parts read its values as one-time parameters.
  const norm = (i: number) => `(SELECT n${i} FROM kw)`;
  const codes = `user_search_codes(p.${NICK})`;
  const atStart = (i: number) => `${codes} @> (SELECT s${i} FROM kw)`;
  // A single ASCII character has one of several codes there (user_search_probe_any): the second test.
  const later = (i: number) => `(${codes} @> (SELECT l${i} FROM kw) OR ${codes} && (SELECT o${i} FROM kw))`;
  const any = (parts: string[]) => (parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`);
  const all = (parts: string[]) => parts.join(' AND ');

  const startsWithOne = (t: string) => any(indexes.map((i) => `starts_with(${t}, ${norm(i)})`));
  const containsOne = (t: string) => any(indexes.map((i) => `strpos(${t}, ${norm(i)}) > 0`));
  const containsEach = (t: string) => all(indexes.map((i) => `strpos(${t}, ${norm(i)}) > 0`));

  /** Exactly the rows of a tier (outside tier 0), on their normalized nickname `t`. */
  const inTier = (tier: NickTier, id: string, t: string): string =>
    all([
      `${id} <> ALL (${rawList})`,
      match === KeywordMatch.ALL ? containsEach(t) : containsOne(t),
      tier === SearchTier.PREFIX ? startsWithOne(t) : `NOT ${startsWithOne(t)}`,
    ]);
  /** What the GIN index holds for every row of a tier (and for some others, which inTier removes). */
  const candidates = (tier: NickTier): string => {
    if (match === KeywordMatch.ANY || keywordCount === 1) {
      return any(indexes.map(tier === SearchTier.PREFIX ? atStart : later));
    }
    // Every keyword occurs: in the prefix tier one of them at the start, in the other none does.
    if (tier === SearchTier.CONTAINS) return all(indexes.map(later));
    return all([...indexes.map((i) => `(${atStart(i)} OR ${later(i)})`), any(indexes.map(atStart))]);
  };
  const filters = (row: string) =>
    all([
      `${row}.deactivated_at IS NULL`,
      `(${P.genders} IS NULL OR ${row}.${GENDER} = ANY (${P.genders}))`,
      `(${P.min} IS NULL OR ${row}.${BIRTHDAY} <> 0 AND ${row}.${BIRTHDAY} BETWEEN ${P.min} AND ${P.max})`,
    ]);
  const startOf = (tier: SearchTier) => `CASE WHEN ${P.tier} = ${tier} THEN ${P.userID} ELSE '' END`;

  const keywordColumns = indexes.map(
    (i) =>
      `user_search_text(${raw(i)}) AS n${i}, user_search_probe(${raw(i)}, true) AS s${i}, ` +
      `user_search_probe(${raw(i)}, false) AS l${i}, user_search_probe_any(${raw(i)}) AS o${i}`,
  );

  const idMatches =
    match === KeywordMatch.ALL
      ? ` AND ${all(indexes.map((i) => `(p.user_id = ${raw(i)} OR strpos(user_search_text(p.${NICK}), ${norm(i)}) > 0)`))}`
      : '';
  const tier0 = `t0 AS MATERIALIZED (
    SELECT p.user_id FROM user_profile AS p
    WHERE ${P.tier} <= ${SearchTier.USER_ID} AND p.user_id = ANY (${rawList}) AND p.user_id > ${P.userID}
      AND ${filters('p')}${idMatches}
    ORDER BY p.user_id LIMIT ${P.limit}
  )`;

  const found: string[] = ['(SELECT count(*) FROM t0)'];
  const tiers = ([SearchTier.PREFIX, SearchTier.CONTAINS] as const).map((tier) => {
    const before = found.join(' + ');
    const gate = `${P.tier} <= ${tier} AND ${before} < ${P.limit}`;
    // An index-only scan of user_profile_search_walk; a row is read only for a match (OFFSET 0 keeps
    // the filters apart, so the planner costs that look-up for matches only).
    const walk = (from: string, rows: number) => `(
      SELECT w.user_id FROM (
        SELECT p.user_id, user_search_text(p.${NICK}) AS t
        FROM user_profile AS p WHERE p.user_id > ${from} ORDER BY p.user_id LIMIT ${rows}
      ) AS w
      WHERE ${inTier(tier, 'w.user_id', 'w.t')}
      OFFSET 0
    ) AS w
    WHERE (SELECT ${filters('f')} FROM user_profile AS f WHERE f.user_id = w.user_id)`;
    /** The `rows`-th user after `from`, where a walk of that many stopped; NULL when it reached the end. */
    const edge = (from: string, rows: number) =>
      `(SELECT e.user_id FROM user_profile AS e WHERE e.user_id > ${from} ORDER BY e.user_id OFFSET ${rows - 1} LIMIT 1)`;
    const first = `(SELECT count(*) FROM a${tier})`;
    const second = `(SELECT count(*) FROM b${tier})`;
    const lastFirst = `(SELECT max(user_id) FROM a${tier})`;
    const secondEdge = `(SELECT user_id FROM e${tier})`;
    // Each step reads only as many users as the page still needs.
    const text = `
  a${tier} AS MATERIALIZED (
    SELECT w.user_id FROM ${walk(startOf(tier), FIRST_WALK_ROWS)} AND ${gate}
    LIMIT ${P.limit} - ${before}
  ),
  b${tier} AS MATERIALIZED (
    SELECT w.user_id FROM ${walk(lastFirst, WALK_ROWS)}
      AND ${gate} AND ${first} > 0 AND ${first} + ${before} < ${P.limit}
    LIMIT ${P.limit} - ${before} - ${first}
  ),
  e${tier} AS MATERIALIZED (SELECT ${edge(lastFirst, WALK_ROWS)} AS user_id),
  i${tier} AS MATERIALIZED (
    SELECT p.user_id FROM user_profile AS p
    WHERE ${gate} AND ${candidates(tier)}
      AND (${first} = 0 OR ${first} + ${second} + ${before} < ${P.limit} AND ${secondEdge} IS NOT NULL)
      -- user_id || '': neither bound nor order may turn into a primary key range (a bitmap of every
      -- user after the bound): this step reads the GIN index's few candidates and sorts them.
      AND p.user_id || '' > CASE WHEN ${first} = 0 THEN ${startOf(tier)} ELSE ${secondEdge} END
      AND ${inTier(tier, 'p.user_id', `user_search_text(p.${NICK})`)} AND ${filters('p')}
    ORDER BY p.user_id || '' LIMIT ${P.limit} - ${before} - ${first} - ${second}
  )`;
    found.push(first, second, `(SELECT count(*) FROM i${tier})`);
    return text;
  });

  return `WITH kw AS MATERIALIZED (
    SELECT ${keywordColumns.join(',\n      ')}
  ),
  ${tier0},${tiers.join(',')}
  SELECT user_id, tier FROM (
    SELECT user_id, ${SearchTier.USER_ID} AS tier FROM t0
    UNION ALL SELECT user_id, ${SearchTier.PREFIX} FROM a1
    UNION ALL SELECT user_id, ${SearchTier.PREFIX} FROM b1
    UNION ALL SELECT user_id, ${SearchTier.PREFIX} FROM i1
    UNION ALL SELECT user_id, ${SearchTier.CONTAINS} FROM a2
    UNION ALL SELECT user_id, ${SearchTier.CONTAINS} FROM b2
    UNION ALL SELECT user_id, ${SearchTier.CONTAINS} FROM i2
  ) AS hits
  ORDER BY tier, user_id LIMIT ${P.limit}`;
}

/** The statement of each shape, by name: one prepared statement per shape and connection. */
const SEARCHES = new Map<string, Omit<Statement, 'values'>>();

function searchStatement(keywordCount: number, match: KeywordMatch): Omit<Statement, 'values'> {
  const name = `user_search_${match.toLowerCase()}_${keywordCount}`;
  let statement = SEARCHES.get(name);
  if (statement === undefined) {
    statement = { name, text: buildSearch(keywordCount, match), fromInput: KEYWORD_INPUT_EXCEPTIONS };
    SEARCHES.set(name, statement);
  }
  return statement;
}

export class UserSearchRepository {
  constructor(private readonly pool: Pool) {}

  /** The matches of `query` after its position, in order, at most `query.limit`. */
  async findMatches(query: SearchQuery): Promise<SearchHit[]> {
    const statement: Statement = {
      ...searchStatement(query.keywords.length, query.match),
      values: [
        query.after?.tier ?? SearchTier.USER_ID,
        query.after?.userID ?? '',
        query.limit,
        query.genders ?? null,
        query.birthday?.min ?? null,
        query.birthday?.max ?? null,
        ...query.keywords,
      ],
    };
    const rows = await onConnection(this.pool, async ({ client }) => {
      const sql = createSqlRunner(client);
      // The transaction and its settings in one round trip (a simple query of four statements).
      await sql.query({ text: BEGIN_SEARCH });
      try {
        const found = await sql.query<{ user_id: string; tier: number }>(statement);
        await sql.query({ text: 'COMMIT' });
        return found;
      } catch (error) {
        // A connection that cannot roll back reports an 'error' event, and onConnection discards it.
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
    return rows.map((row) => ({ userID: row.user_id, tier: row.tier as SearchTier }));
  }

  /** The statement of a shape, for the tests that read its plan. */
  static statementFor(keywordCount: number, match: KeywordMatch): string {
    return searchStatement(keywordCount, match).text;
  }
}
