import type { Pool } from 'pg';
import { defineField, uniqueFieldKey } from '../support/custom-fields';
import { createOwnDatabase } from '../support/db';
import { startTestServer, type GraphQLResponse, type TestServer } from '../support/test-server';
import { KeywordMatch } from '../../src/search/search.enums';
import { FIRST_WALK_ROWS, UserSearchRepository, WALK_ROWS } from '../../src/search/search.repository';

jest.setTimeout(120_000);

const SEARCH = `query ($input: SearchUsersInput!) { searchUsers(input: $input) { users { userID nick } nextCursor } }`;
const USERS = `query ($ids: [ID!]!) { users(ids: $ids) { userID nick gender birthday profileCustomField { key value } } }`;

interface Person {
  readonly userID: string;
  readonly nick: string;
  readonly gender?: 'UNKNOWN' | 'FEMALE' | 'MALE';
  readonly birthday?: number;
}

let database: Awaited<ReturnType<typeof createOwnDatabase>>;
let server: TestServer;
let pool: Pool;

/** Writes profiles in one set-based statement, as an import does (the indexes must follow it too). */
async function store(people: readonly Person[]): Promise<void> {
  await pool.query(
    `INSERT INTO user_profile (user_id, nick, gender, birthday)
     SELECT * FROM unnest($1::text[], $2::text[], $3::profile_gender[], $4::bigint[])
     ON CONFLICT (user_id) DO UPDATE SET nick = EXCLUDED.nick, gender = EXCLUDED.gender, birthday = EXCLUDED.birthday`,
    [
      people.map((p) => p.userID),
      people.map((p) => p.nick),
      people.map((p) => p.gender ?? 'UNKNOWN'),
      people.map((p) => p.birthday ?? 0),
    ],
  );
}

async function search(input: Record<string, unknown>, as = 'searcher', query = SEARCH): Promise<GraphQLResponse> {
  return server.request(query, { as, variables: { input } });
}

async function found(input: Record<string, unknown>, as = 'searcher'): Promise<string[]> {
  const response = await search(input, as);
  expect(response.errors).toBeUndefined();
  return response.data!.searchUsers.users.map((user: { userID: string }) => user.userID);
}

/** Every page of a search, following nextCursor, checking each page's size. */
async function allPages(input: Record<string, unknown>, pageSize: number): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const response = await search({ ...input, first: pageSize, after });
    expect(response.errors).toBeUndefined();
    const { users, nextCursor } = response.data!.searchUsers;
    pages.push(users.map((user: { userID: string }) => user.userID));
    if (nextCursor === null) return pages;
    expect(users).toHaveLength(pageSize);
    after = nextCursor;
    if (pages.length > 1000) throw new Error('no last page');
  }
}

/**
 * The order, computed the plain way: a scan of every profile with the same normalization,
 * tiers 0 (user ID), 1 (nickname starts with a keyword), 2 (contains one), then user ID.
 */
async function expected(keywords: string[], match: 'ANY' | 'ALL' = 'ANY'): Promise<string[]> {
  const { rows } = await pool.query<{ user_id: string }>(
    `WITH k AS (SELECT raw, user_search_text(raw) AS norm FROM unnest($1::text[]) AS raw),
     m AS (
       SELECT p.user_id,
         CASE WHEN p.user_id IN (SELECT raw FROM k) THEN 0
              WHEN EXISTS (SELECT 1 FROM k WHERE starts_with(user_search_text(p.nick), k.norm)) THEN 1 ELSE 2 END AS tier,
         (SELECT count(*) FROM k WHERE p.user_id = k.raw OR strpos(user_search_text(p.nick), k.norm) > 0) AS hits
       FROM user_profile AS p WHERE p.deactivated_at IS NULL
     )
     SELECT user_id FROM m WHERE hits >= CASE WHEN $2 = 'ALL' THEN (SELECT count(*) FROM k) ELSE 1 END
     ORDER BY tier, user_id`,
    [[...new Set(keywords.map((keyword) => keyword.trim()))], match],
  );
  return rows.map((row) => row.user_id);
}

const FILLER = 30_000;

beforeAll(async () => {
  database = await createOwnDatabase('profile_search');
  server = await startTestServer({ DATABASE_URL: database.url, DB_MIGRATE: 'true', SEARCH_RATE_LIMIT_PER_USER: '0' });
  pool = server.app.database.pool;
  // Enough users that a walk of the first rows cannot cover the table, so every step of a tier
  // (the short walk, the long one, the index after them) is taken by some search below.
  expect(FILLER).toBeGreaterThan(FIRST_WALK_ROWS + WALK_ROWS);
  await pool.query(
    `INSERT INTO user_profile (user_id, nick)
     SELECT 'filler_' || lpad(i::text, 6, '0'),
       (ARRAY['王', '李', '张', 'Sam', 'kim', 'ユキ'])[1 + i % 6] || (ARRAY['伟', '芳', 'ly', 'na', '静', 'o'])[1 + i / 6 % 6] || i
     FROM generate_series(0, $1::int - 1) AS i`,
    [FILLER],
  );
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

describe('what matches', () => {
  beforeAll(() =>
    store([
      { userID: 'm_alice', nick: 'Alice Wonder' },
      { userID: 'm_malice', nick: 'malicious bob' },
      { userID: 'm_wide', nick: 'ＡＬＩＣＥ　ｗｉｄｅ' },
      { userID: 'm_kana_half', nick: 'ﾕｳｷﾁｬﾝ' },
      { userID: 'm_kana_full', nick: 'ユウキちゃん' },
      { userID: 'm_greek', nick: 'ΟΔΥΣΣΕΥΣ' },
      { userID: 'm_wang', nick: '王小明' },
      { userID: 'm_xiaoming', nick: '李小明' },
      { userID: 'm_ming', nick: '明月' },
      { userID: 'm_korean', nick: '김민준' },
      { userID: 'xq_7', nick: 'someone else' },
      { userID: 'xq_77', nick: 'nick mentions xq_7 inside' },
    ]),
  );

  it('finds a keyword anywhere in a nickname, ignoring case and width', async () => {
    expect(await found({ keywords: ['lic'] })).toEqual(['m_alice', 'm_malice', 'm_wide']);
    // Upper case, full width and a space around it: the same keyword.
    expect(await found({ keywords: ['  ＬＩＣ '] })).toEqual(['m_alice', 'm_malice', 'm_wide']);
    expect(await found({ keywords: ['ALICE W'] })).toEqual(['m_alice', 'm_wide']);
    // Half-width katakana is the full-width form after NFKC.
    expect(await found({ keywords: ['ユウキ'] })).toEqual(['m_kana_full', 'm_kana_half']);
    expect(await found({ keywords: ['ﾁｬﾝ'] })).toEqual(['m_kana_half']);
    // Greek: the final sigma is the same letter as any other.
    expect(await found({ keywords: ['σσευς'] })).toEqual(['m_greek']);
    expect(await found({ keywords: ['ΥΣ'] })).toEqual(['m_greek']);
    // A keyword that ends in Σ lowers to a final ς, where the nickname has σ.
    expect(await found({ keywords: ['ΟΔΥΣ'] })).toEqual(['m_greek']);
    expect(await found({ keywords: ['ΥΣΣ'] })).toEqual(['m_greek']);
  });

  it('takes one and two CJK characters as keywords, at the start or inside', async () => {
    expect(await found({ keywords: ['小明'] })).toEqual(['m_wang', 'm_xiaoming']);
    // The nickname that starts with the keyword comes first, then the others by user ID.
    const ming = await found({ keywords: ['明'], first: 100 });
    expect(ming[0]).toBe('m_ming');
    expect(ming).toEqual(await expected(['明']));
    expect(ming).toEqual(expect.arrayContaining(['m_wang', 'm_xiaoming']));
    expect(await found({ keywords: ['민준'] })).toEqual(['m_korean']);
  });

  it('puts an exact user ID first, and never matches part of one', async () => {
    // xq_7 matches by ID; xq_77's nickname contains "xq_7".
    expect(await found({ keywords: ['xq_7'] })).toEqual(['xq_7', 'xq_77']);
    // Part of xq_7's ID finds only the nickname that contains it.
    expect(await found({ keywords: ['xq_'] })).toEqual(['xq_77']);
    expect(await found({ keywords: ['XQ_7'] })).toEqual(['xq_77']);
  });

  it('combines keywords with ANY (the default) or ALL', async () => {
    expect(await found({ keywords: ['alice', '小明'] })).toEqual(['m_alice', 'm_wide', 'm_wang', 'm_xiaoming']);
    expect(await found({ keywords: ['alice', '小明'], match: 'ANY' })).toEqual(
      await found({ keywords: ['alice', '小明'] }),
    );
    expect(await found({ keywords: ['alice', '小明'], match: 'ALL' })).toEqual([]);
    expect(await found({ keywords: ['王', '明'], match: 'ALL', first: 100 })).toEqual(
      await expected(['王', '明'], 'ALL'),
    );
    expect(await found({ keywords: ['小明', '李'], match: 'ALL' })).toEqual(['m_xiaoming']);
    // With ALL, the user ID may be what one keyword matches.
    expect(await found({ keywords: ['xq_77', 'inside'], match: 'ALL' })).toEqual(['xq_77']);
  });
});

describe('filters', () => {
  beforeAll(() =>
    store([
      { userID: 'f_a', nick: 'filtertest a', gender: 'FEMALE', birthday: 19900101 },
      { userID: 'f_b', nick: 'filtertest b', gender: 'MALE', birthday: 19951231 },
      { userID: 'f_c', nick: 'filtertest c', gender: 'UNKNOWN', birthday: 20000615 },
      { userID: 'f_d', nick: 'filtertest d', gender: 'FEMALE', birthday: 0 },
    ]),
  );

  it('narrows by genders and by birthday bounds, inclusive; no birthday is outside any bound', async () => {
    const keywords = ['filtertest'];
    expect(await found({ keywords })).toEqual(['f_a', 'f_b', 'f_c', 'f_d']);
    expect(await found({ keywords, genders: ['FEMALE'] })).toEqual(['f_a', 'f_d']);
    expect(await found({ keywords, genders: ['FEMALE', 'MALE'] })).toEqual(['f_a', 'f_b', 'f_d']);
    expect(await found({ keywords, minBirthday: 19951231 })).toEqual(['f_b', 'f_c']);
    expect(await found({ keywords, maxBirthday: 19951231 })).toEqual(['f_a', 'f_b']);
    expect(await found({ keywords, minBirthday: 19900101, maxBirthday: 19900101 })).toEqual(['f_a']);
    expect(await found({ keywords, minBirthday: 0 })).toEqual(['f_a', 'f_b', 'f_c']);
    expect(await found({ keywords, genders: ['FEMALE'], minBirthday: 19800101, maxBirthday: 19991231 })).toEqual([
      'f_a',
    ]);
  });

  it('filters a common keyword along the walk as well', async () => {
    const women = await found({ keywords: ['王'], genders: ['FEMALE'], first: 100 });
    expect(women).toEqual([]);
    await pool.query(`UPDATE user_profile SET gender = 'FEMALE' WHERE user_id IN ('filler_029994', 'filler_000006')`);
    expect(await found({ keywords: ['王'], genders: ['FEMALE'] })).toEqual(['filler_000006', 'filler_029994']);
  });
});

describe('order and pages', () => {
  const TOKEN = 'pagetoken';
  beforeAll(async () => {
    // 250 matches in all three groups, spread among the fillers' IDs: some start with the keyword,
    // most contain it later, one is named by its user ID.
    const people: Person[] = Array.from({ length: 249 }, (_, i) => ({
      userID: `filler_${String(i * 120 + 7).padStart(6, '0')}`,
      nick: i % 5 === 0 ? `${TOKEN} first ${i}` : `x ${i} ${TOKEN.toUpperCase()}`,
    }));
    people.push({ userID: TOKEN, nick: 'named by its ID' });
    await store(people);
  });

  it('pages through 250 matches in pages of 100, each once, in the order of the issue', async () => {
    const pages = await allPages({ keywords: [TOKEN] }, 100);
    expect(pages.map((page) => page.length)).toEqual([100, 100, 50]);
    const all = pages.flat();
    expect(new Set(all).size).toBe(250);
    expect(all).toEqual(await expected([TOKEN]));
    expect(all[0]).toBe(TOKEN);
  });

  it('gives the same order whatever the page size', async () => {
    const reference = await expected([TOKEN]);
    for (const size of [1, 7, 33]) {
      expect((await allPages({ keywords: [TOKEN] }, size)).flat()).toEqual(reference);
    }
  });

  it('pages common and rare keywords, alone and together, exactly like a plain scan', async () => {
    const cases: Array<[string[], 'ANY' | 'ALL']> = [
      [['王'], 'ANY'],
      [['芳'], 'ANY'],
      [['ly'], 'ANY'],
      [['kim'], 'ANY'],
      [['999'], 'ANY'],
      [['3'], 'ANY'],
      [['sam', 'ユキ'], 'ANY'],
      [['王', '芳'], 'ALL'],
      [['99', 'na'], 'ALL'],
    ];
    for (const [keywords, match] of cases) {
      // Common keywords have thousands of matches: their first pages are enough to compare.
      const pages: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 4; page += 1) {
        const response = await search({ keywords, match, first: 100, after });
        expect(response.errors).toBeUndefined();
        pages.push(...response.data!.searchUsers.users.map((user: { userID: string }) => user.userID));
        after = response.data!.searchUsers.nextCursor ?? undefined;
        if (after === undefined) break;
      }
      const reference = await expected(keywords, match);
      expect({ keywords, match, found: pages }).toEqual({ keywords, match, found: reference.slice(0, pages.length) });
      if (after === undefined) expect(pages).toHaveLength(reference.length);
      else expect(pages).toHaveLength(400);
    }
  });

  it('answers a page size of 20 by default, and an empty page for no match', async () => {
    const response = await search({ keywords: [TOKEN] });
    expect(response.data!.searchUsers.users).toHaveLength(20);
    expect(typeof response.data!.searchUsers.nextCursor).toBe('string');
    // null for `first` (or `match`) is the default too.
    const nulls = await search({ keywords: [TOKEN], first: null, match: null });
    expect(nulls.data!.searchUsers.users).toHaveLength(20);
    expect(await search({ keywords: ['no such nickname anywhere'] })).toMatchObject({
      data: { searchUsers: { users: [], nextCursor: null } },
    });
  });

  it('refuses a forged cursor, and one of another search, as BAD_USER_INPUT', async () => {
    const first = await search({ keywords: [TOKEN], first: 10 });
    const cursor: string = first.data!.searchUsers.nextCursor;
    const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
    const forged = [
      'not a cursor',
      'AAAA',
      Buffer.from('[1,1,"filler_000007"]').toString('base64url'),
      Buffer.from(decoded.replace(/"[^"]+",("[^"]+"\])$/, '"filler_000008",$1')).toString('base64url'),
      Buffer.from(decoded.replace(/^\[1,\d/, '[1,0')).toString('base64url'),
      cursor.slice(0, -2),
    ];
    for (const after of forged) {
      const response = await search({ keywords: [TOKEN], first: 10, after });
      expect(response.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'input.after',
        reason: 'INVALID_VALUE',
      });
      expect(response.data ?? null).toBeNull();
    }
    // Another search's cursor: other keywords, another match, other filters.
    for (const other of [{ keywords: ['王'] }, { match: 'ALL' }, { genders: ['MALE'] }, { minBirthday: 1 }]) {
      const response = await search({ keywords: [TOKEN], ...other, first: 10, after: cursor });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.after' });
    }
    // The same search, its keywords in another order and repeated, takes it; so does another page size.
    const next = await search({ keywords: [TOKEN, TOKEN], first: 5, after: cursor });
    expect(next.errors).toBeUndefined();
    expect(next.data!.searchUsers.users).toHaveLength(5);
  });
});

describe('who is shown, and how', () => {
  const privateKey = uniqueFieldKey();
  const publicKey = uniqueFieldKey();
  beforeAll(async () => {
    await defineField(server, privateKey, { read: 'PRIVATE' });
    await defineField(server, publicKey, { read: 'PUBLIC' });
    for (const userID of ['v_me', 'v_other']) {
      const response = await server.request(
        `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`,
        {
          as: userID,
          variables: {
            input: {
              nick: `visibility ${userID}`,
              gender: 'MALE',
              birthday: 19991231,
              profileCustomField: [
                { key: privateKey, value: `private of ${userID}` },
                { key: publicKey, value: `public of ${userID}` },
              ],
            },
          },
        },
      );
      expect(response.errors).toBeUndefined();
    }
    await store([{ userID: 'v_gone', nick: 'visibility gone' }]);
    await pool.query(`UPDATE user_profile SET deactivated_at = now() WHERE user_id = 'v_gone'`);
  });

  it('shows users exactly as users(ids:) does: PRIVATE custom fields only on the caller’s own profile', async () => {
    const query = `query ($input: SearchUsersInput!) {
      searchUsers(input: $input) { users { userID nick gender birthday profileCustomField { key value } } } }`;
    const response = await search({ keywords: ['visibility'] }, 'v_me', query);
    expect(response.errors).toBeUndefined();
    const users = response.data!.searchUsers.users;
    // The caller matches, and is included.
    expect(users.map((user: { userID: string }) => user.userID)).toEqual(['v_me', 'v_other']);
    const direct = await server.request(USERS, { as: 'v_me', variables: { ids: ['v_me', 'v_other'] } });
    expect(users).toEqual(direct.data!.users);
    expect(users[0].profileCustomField).toEqual(
      expect.arrayContaining([{ key: privateKey, value: 'private of v_me' }]),
    );
    expect(users[1].profileCustomField).toEqual([{ key: publicKey, value: 'public of v_other' }]);
  });

  it('never shows a deactivated account, not even by its user ID', async () => {
    expect(await found({ keywords: ['visibility gone'] })).toEqual([]);
    expect(await found({ keywords: ['v_gone'] })).toEqual([]);
    expect(await found({ keywords: ['visibility'] })).toEqual(['v_me', 'v_other']);
    // Left out by the search itself, not only when shown: a page of one is still full.
    expect(await found({ keywords: ['visibility'], first: 1 })).toEqual(['v_me']);
  });

  it('needs a signed-in caller', async () => {
    const response = await server.request(SEARCH, { variables: { input: { keywords: ['visibility'] } } });
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('the index follows every write', () => {
  it('after an update, an administrator’s write and an import, finds the new nickname and not the old', async () => {
    const update = `mutation ($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }`;
    expect(
      (await server.request(update, { as: 'w_self', variables: { nick: '旧名 oldname' } })).errors,
    ).toBeUndefined();
    expect(await found({ keywords: ['oldname'] })).toEqual(['w_self']);
    expect(
      (await server.request(update, { as: 'w_self', variables: { nick: '新名 newname' } })).errors,
    ).toBeUndefined();
    expect(await found({ keywords: ['oldname'] })).toEqual([]);
    expect(await found({ keywords: ['旧'] })).toEqual([]);
    expect(await found({ keywords: ['新'] })).toEqual(['w_self']);

    const imported = await server.request(
      `mutation { importAccounts(accounts: [{ userID: "w_imported", nick: "Ｉｍｐｏｒｔｅｄ" }]) { userID } }`,
      { as: 'w_admin', admin: true },
    );
    expect(imported.errors).toBeUndefined();
    expect(await found({ keywords: ['imported'] })).toEqual(['w_imported']);
    const set = await server.request(
      `mutation { setUserProfile(userID: "w_imported", input: { nick: "改名 renamed" }) { nick } }`,
      { as: 'w_admin', admin: true },
    );
    expect(set.errors).toBeUndefined();
    expect(await found({ keywords: ['imported'] })).toEqual([]);
    expect(await found({ keywords: ['改名'] })).toEqual(['w_imported']);

    // A set-based write of many rows at once, as `npm run accounts -- import` makes.
    await pool.query(
      `INSERT INTO user_profile (user_id, nick) SELECT 'w_bulk_' || i, 'bulkrow ' || i FROM generate_series(1, 300) AS i`,
    );
    expect((await allPages({ keywords: ['bulkrow'] }, 100)).flat()).toHaveLength(300);
  });
});

describe('limits', () => {
  const refusal = async (input: Record<string, unknown>) => {
    const response = await search(input);
    expect(response.data ?? null).toBeNull();
    const { code, field, reason } = response.errors?.[0].extensions ?? {};
    return { code, field, reason };
  };

  it('refuses keywords out of bounds', async () => {
    expect(await refusal({ keywords: [] })).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.keywords',
      reason: 'INVALID_VALUE',
    });
    expect(await refusal({ keywords: ['a', 'b', 'c', 'd', 'e', 'f'] })).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.keywords',
      reason: 'TOO_MANY',
    });
    expect(await refusal({ keywords: ['ok', 'x'.repeat(101)] })).toMatchObject({
      field: 'input.keywords[1]',
      reason: 'TOO_LONG',
    });
    // 34 CJK characters are 102 UTF-8 bytes; 33 are 99, with spaces around them that are trimmed.
    expect(await refusal({ keywords: ['王'.repeat(34)] })).toMatchObject({ reason: 'TOO_LONG' });
    expect((await search({ keywords: [`  ${'王'.repeat(33)}  `] })).errors).toBeUndefined();
    expect(await refusal({ keywords: ['ok', '   '] })).toMatchObject({
      field: 'input.keywords[1]',
      reason: 'INVALID_VALUE',
    });
    expect(await refusal({ keywords: ['a\u0001b'] })).toMatchObject({ reason: 'INVALID_CHARACTERS' });
    // Five keywords are fine.
    expect((await search({ keywords: ['a', 'b', 'c', 'd', 'e'] })).errors).toBeUndefined();
  });

  it('refuses a page size out of 1 to 100, an empty gender list and reversed birthday bounds', async () => {
    for (const first of [0, 101, -1]) {
      expect(await refusal({ keywords: ['王'], first })).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'input.first',
        reason: 'INVALID_VALUE',
      });
    }
    expect((await search({ keywords: ['王'], first: 100 })).data!.searchUsers.users).toHaveLength(100);
    expect(await refusal({ keywords: ['王'], genders: [] })).toMatchObject({ field: 'input.genders' });
    expect(await refusal({ keywords: ['王'], minBirthday: 20000101, maxBirthday: 19990101 })).toMatchObject({
      field: 'input.maxBirthday',
      reason: 'INVALID_VALUE',
    });
  });

  it('counts the page size in the cost of the operation', async () => {
    const small = await startTestServer({
      DATABASE_URL: database.url,
      GRAPHQL_MAX_COST: '300',
      SEARCH_RATE_LIMIT_PER_USER: '0',
    });
    try {
      const query = `query ($input: SearchUsersInput!) { searchUsers(input: $input) { users { userID nick } nextCursor } }`;
      // 1 + users (1 + 2 fields) + nextCursor = 5 per user of the page.
      const at = (input: object) => small.request(query, { as: 'coster', variables: { input } });
      expect((await at({ keywords: ['王'], first: 59 })).errors).toBeUndefined();
      const refused = await at({ keywords: ['王'], first: 61 });
      expect(refused.errors?.[0].extensions).toMatchObject({ reason: 'COST_LIMIT', limit: 300 });
      // Without `first`, the default page of 20; inline or in a variable, the same.
      expect((await at({ keywords: ['王'] })).errors).toBeUndefined();
      const inline = await small.request(
        `{ searchUsers(input: { keywords: ["王"], first: 61 }) { users { userID nick } nextCursor } }`,
        {
          as: 'coster',
        },
      );
      expect(inline.errors?.[0].extensions).toMatchObject({ reason: 'COST_LIMIT' });
    } finally {
      await small.stop();
    }
  });
});

describe('the plan', () => {
  it('reads the search indexes', async () => {
    // Before any VACUUM no page is known to be all-visible, and the walk reads the rows along the
    // primary key instead (the same order and LIMIT); once vacuumed, as autovacuum does, index-only.
    await pool.query('VACUUM user_profile');
    const explain = async (keyword: string) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL max_parallel_workers_per_gather = 0`);
        const text = UserSearchRepository.statementFor(1, KeywordMatch.ANY);
        const { rows } = await client.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${text}`, [
          0,
          '',
          21,
          null,
          null,
          null,
          keyword,
        ]);
        await client.query('ROLLBACK');
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      } finally {
        client.release();
      }
    };
    // A common keyword: the walk along the index of user IDs and nicknames, index-only.
    expect(await explain('王')).toMatch(
      /Index Only Scan using user_profile_search_walk on user_profile \w+ \(actual rows=[1-9]/,
    );
    // A rare one: the GIN index's candidates.
    expect(await explain('小明')).toMatch(/Bitmap Index Scan on user_profile_search_codes \(actual rows=[1-9]/);
  });
});

describe('statements', () => {
  it('sends one search statement in a transaction of three round trips, then one profile read', async () => {
    // Last in this file: the server's background work (relay, registry re-reads) stops here.
    await server.stopBackgroundWork();
    const count = async (keywords: string[]) => {
      const before = server.statements();
      const response = await search({ keywords });
      expect(response.errors).toBeUndefined();
      return { statements: server.statements() - before, users: response.data!.searchUsers.users.length };
    };
    // BEGIN READ ONLY with its settings, the search, COMMIT; then the page's profiles in one read.
    expect(await count(['王'])).toEqual({ statements: 4, users: 20 });
    expect(await count(['filler_000001', '芳', 'Sam'])).toEqual({ statements: 4, users: 20 });
    // No match, no profiles to read.
    expect(await count(['no such nickname anywhere'])).toEqual({ statements: 3, users: 0 });
  });
});
