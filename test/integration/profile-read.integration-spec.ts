import type { Pool } from 'pg';
import { openTestPool } from '../support/db';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

let server: TestServer;
let pool: Pool;
beforeAll(async () => {
  server = await startTestServer();
  // Statements are counted on the server's pool: only requests may send any.
  await server.stopBackgroundWork();
  pool = openTestPool();
});
afterAll(async () => {
  await server.stop();
  await pool.end();
});

const FULL_PROFILE = `userID nick avatar gender selfSignature allowType birthday location language messageSettings
  adminForbidType level role profileCustomField { key value } lastUpdatedTime`;

async function createUsers(count: number, prefix = 'r'): Promise<string[]> {
  const ids = Array.from({ length: count }, () => uniqueUserID(prefix));
  await pool.query('INSERT INTO user_profile (user_id, nick) SELECT id, id FROM unnest($1::text[]) AS id', [ids]);
  return ids;
}

describe('me', () => {
  test('creates the account on first use with the documented defaults', async () => {
    const userID = uniqueUserID();
    const before = Date.now();
    const response = await server.request(`{ me { ${FULL_PROFILE} } }`, { as: userID });
    expect(response.errors).toBeUndefined();
    const me = response.data!.me;
    expect(me).toEqual({
      userID,
      nick: '',
      avatar: '',
      gender: 'UNKNOWN',
      selfSignature: '',
      allowType: 'NEED_CONFIRM',
      birthday: 0,
      location: '',
      language: 0,
      messageSettings: 0,
      adminForbidType: 'NONE',
      level: 0,
      role: 0,
      profileCustomField: [],
      lastUpdatedTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(Date.parse(me.lastUpdatedTime)).toBeGreaterThanOrEqual(before - 5000);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM user_profile WHERE user_id = $1', [userID]);
    expect(rows[0].n).toBe(1);
  });

  test('account creation is idempotent and safe when many first requests race', async () => {
    const userID = uniqueUserID();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? server.request('{ me { userID nick } }', { as: userID })
          : server.request(`mutation { updateMyProfile(input: { level: ${i} }) { userID } }`, { as: userID }),
      ),
    );
    for (const response of responses) expect(response.errors).toBeUndefined();
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM user_profile WHERE user_id = $1', [userID]);
    expect(rows[0].n).toBe(1);
  });

  test('returns the stored profile on later calls', async () => {
    const userID = uniqueUserID();
    await server.request('mutation { updateMyProfile(input: { nick: "Nora", role: 7 }) { userID } }', { as: userID });
    const response = await server.request('{ me { nick role } }', { as: userID });
    expect(response.data).toEqual({ me: { nick: 'Nora', role: 7 } });
  });
});

describe('users(ids:)', () => {
  test('answers in input order, each ID once, leaving out IDs with no account', async () => {
    const [a, b, c] = await createUsers(3);
    const missing = uniqueUserID('missing');
    const response = await server.request('query ($ids: [ID!]!) { users(ids: $ids) { userID nick } }', {
      as: uniqueUserID(),
      variables: { ids: [c, missing, a, c, b, a] },
    });
    expect(response.errors).toBeUndefined();
    expect(response.data!.users).toEqual([
      { userID: c, nick: c },
      { userID: a, nick: a },
      { userID: b, nick: b },
    ]);
    expect(response.extensions?.warnings).toBeUndefined();
  });

  test('an empty list answers an empty list', async () => {
    const response = await server.request('{ users(ids: []) { userID } }', { as: uniqueUserID() });
    expect(response.data).toEqual({ users: [] });
  });

  test('100 distinct IDs are all used, in one SQL statement', async () => {
    const ids = await createUsers(100);
    const before = server.statements();
    const response = await server.request(`query ($ids: [ID!]!) { users(ids: $ids) { ${FULL_PROFILE} } }`, {
      as: uniqueUserID(),
      variables: { ids },
    });
    expect(server.statements() - before).toBe(1);
    expect(response.errors).toBeUndefined();
    expect(response.data!.users.map((u: { userID: string }) => u.userID)).toEqual(ids);
    expect(response.extensions?.warnings).toBeUndefined();
  });

  test('over 100 distinct IDs is BAD_USER_INPUT with reason TOO_MANY; repeats count once', async () => {
    const ids = await createUsers(101);
    const query = 'query ($ids: [ID!]!) { users(ids: $ids) { userID } }';
    const refused = await server.request(query, { as: uniqueUserID(), variables: { ids } });
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids', reason: 'TOO_MANY' });

    const repeated = [ids[0], ...ids.slice(0, 100), ids[99]];
    const served = await server.request(query, { as: uniqueUserID(), variables: { ids: repeated } });
    expect(served.errors).toBeUndefined();
    expect(served.data!.users.map((u: { userID: string }) => u.userID)).toEqual(ids.slice(0, 100));
  });

  test('me and users(ids:) in one request share one batch', async () => {
    const [a, b] = await createUsers(2);
    const before = server.statements();
    const response = await server.request(`query ($ids: [ID!]!) { me { userID } users(ids: $ids) { userID } }`, {
      as: a,
      variables: { ids: [b, a] },
    });
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ me: { userID: a }, users: [{ userID: b }, { userID: a }] });
    expect(server.statements() - before).toBe(1);
  });

  test('an ID that cannot exist is a clear input error naming it', async () => {
    const response = await server.request('query ($ids: [ID!]!) { users(ids: $ids) { userID } }', {
      as: uniqueUserID(),
      variables: { ids: ['ok', 'x'.repeat(33)] },
    });
    expect(response.data).toBeNull();
    expect(response.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'ids[1]', reason: 'TOO_LONG' });
    const nul = await server.request('query ($ids: [ID!]!) { users(ids: $ids) { userID } }', {
      as: uniqueUserID(),
      variables: { ids: ['a\u0000b'] },
    });
    expect(nul.errors?.[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'ids[0]',
      reason: 'INVALID_CHARACTERS',
    });
  });
});
