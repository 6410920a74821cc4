import { randomBytes } from 'node:crypto';
import { defineField } from '../support/custom-fields';
import { createOwnDatabase } from '../support/db';
import { startTestServer, TEST_CUSTOM_FIELDS, uniqueUserID, type TestServer } from '../support/test-server';

const PROFILE = `userID nick avatar gender selfSignature allowType birthday location language messageSettings
  adminForbidType level role profileCustomField { key value } lastUpdatedTime`;
const USERS = `query Users($ids: [ID!]!) { users(ids: $ids) { ${PROFILE} } }`;

/** Creates `count` accounts in one statement, each with two declared custom fields and one undeclared. */
async function createProfiles(server: TestServer, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => uniqueUserID('exec'));
  await server.app.database.pool.query(
    `INSERT INTO user_profile (user_id, nick, birthday, custom_fields)
     SELECT id, 'nick of ' || id, 19900415, jsonb_build_object($2::text, 'two', $3::text, 'one', 'Tag_Profile_Custom_Gone', 'hidden')
     FROM unnest($1::text[]) AS id`,
    [ids, TEST_CUSTOM_FIELDS[1], TEST_CUSTOM_FIELDS[0]],
  );
  return ids;
}

describe('SQL statements per request', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    // Statements are counted on the server's pool: only requests may send any.
    await server.stopBackgroundWork();
  });
  afterAll(() => server.stop());

  async function statementsFor(run: () => Promise<{ errors?: unknown }>): Promise<number> {
    const before = server.statements();
    const response = await run();
    expect(response.errors).toBeUndefined();
    return server.statements() - before;
  }

  it('reads 100 profiles with their custom fields in one statement', async () => {
    const ids = await createProfiles(server, 100);
    const count = await statementsFor(() => server.request(USERS, { as: ids[0], variables: { ids } }));
    expect(count).toBe(1);
  });

  it('reads known and unknown IDs, aliases and repeats in one statement', async () => {
    const ids = await createProfiles(server, 3);
    const query = `query($a: [ID!]!, $b: [ID!]!) { first: users(ids: $a) { userID } second: users(ids: $b) { nick } me { userID } }`;
    const count = await statementsFor(() =>
      server.request(query, { as: ids[0], variables: { a: [ids[1], uniqueUserID('none')], b: [ids[2], ids[1]] } }),
    );
    expect(count).toBe(1);
  });

  it('reads an existing account with me in one statement, and creates a new one with a second', async () => {
    const [id] = await createProfiles(server, 1);
    expect(await statementsFor(() => server.request(`{ me { ${PROFILE} } }`, { as: id }))).toBe(1);
    expect(await statementsFor(() => server.request(`{ me { userID } }`, { as: uniqueUserID('new') }))).toBe(2);
  });

  it('updates an existing account in one statement', async () => {
    const [id] = await createProfiles(server, 1);
    const mutation = `mutation { updateMyProfile(input: { nick: "changed" }) { ${PROFILE} } }`;
    expect(await statementsFor(() => server.request(mutation, { as: id }))).toBe(1);
  });
});

/**
 * The service runs operations compiled by graphql-jit unless GRAPHQL_JIT=false. Both executions must
 * give the same answers, errors included: the same requests go to a server of each kind.
 */
describe.each([
  ['graphql-jit', 'true'],
  ['graphql-js', 'false'],
])('execution with %s', (_name, jit) => {
  let server: TestServer;
  let other: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ GRAPHQL_JIT: jit });
    other = await startTestServer({ GRAPHQL_JIT: jit === 'true' ? 'false' : 'true' });
  });
  afterAll(async () => {
    await server.stop();
    await other.stop();
  });

  it('answers users(ids:) in the order asked, each once, unknown IDs left out, only declared custom fields', async () => {
    const ids = await createProfiles(server, 3);
    const response = await server.request(USERS, {
      as: ids[0],
      variables: { ids: [ids[2], uniqueUserID('none'), ids[0], ids[2], ids[1]] },
    });
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(response.data!.users.map((user: { userID: string }) => user.userID)).toEqual([ids[2], ids[0], ids[1]]);
    const user = response.data!.users[1];
    expect(user).toMatchObject({
      userID: ids[0],
      nick: `nick of ${ids[0]}`,
      gender: 'UNKNOWN',
      allowType: 'NEED_CONFIRM',
      birthday: 19900415,
      messageSettings: 0,
      adminForbidType: 'NONE',
      profileCustomField: [
        { key: TEST_CUSTOM_FIELDS[0], value: 'one' },
        { key: TEST_CUSTOM_FIELDS[1], value: 'two' },
      ],
    });
    expect(new Date(user.lastUpdatedTime).toISOString()).toBe(user.lastUpdatedTime);
  });

  it('orders custom fields by key, not by how Postgres stores them', async () => {
    // jsonb keeps keys shortest first: the short key that sorts last is stored first.
    const suffix = randomBytes(4).toString('hex').slice(0, 7);
    const [early, late] = [`Tag_Profile_Custom_A${suffix}`, `Tag_Profile_Custom_Z${suffix.slice(0, 5)}`];
    await defineField(server, late);
    await defineField(server, early);
    const userID = uniqueUserID('order');
    const written = await server.request(
      `mutation ($fields: [ProfileCustomFieldInput!]!) {
        updateMyProfile(input: { profileCustomField: $fields }) { profileCustomField { key } } }`,
      {
        as: userID,
        variables: {
          fields: [
            { key: late, value: 'z' },
            { key: early, value: 'a' },
          ],
        },
      },
    );
    expect(written.errors).toBeUndefined();
    const read = await server.request('{ me { profileCustomField { key value } } }', { as: userID });
    expect(read.data!.me.profileCustomField).toEqual([
      { key: early, value: 'a' },
      { key: late, value: 'z' },
    ]);
    expect(written.data!.updateMyProfile.profileCustomField).toEqual([{ key: early }, { key: late }]);
  });

  it('answers fragments, aliases, __typename, skip/include and federation entities', async () => {
    const ids = await createProfiles(server, 2);
    const query = `
      query($ids: [ID!]!, $reps: [_Any!]!, $yes: Boolean!) {
        a: users(ids: $ids) { ...Parts __typename custom: profileCustomField { k: key } }
        me { userID level @include(if: $yes) role @skip(if: $yes) }
        _entities(representations: $reps) { __typename ... on User { userID nick } }
      }
      fragment Parts on User { id: userID birthday }`;
    const variables = {
      ids,
      yes: true,
      reps: [
        { __typename: 'User', userID: ids[1] },
        { __typename: 'User', userID: uniqueUserID('none') },
      ],
    };
    const response = await server.request(query, { as: ids[0], variables });
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({
      a: ids.map((id) => ({
        id,
        birthday: 19900415,
        __typename: 'User',
        custom: [{ k: TEST_CUSTOM_FIELDS[0] }, { k: TEST_CUSTOM_FIELDS[1] }],
      })),
      me: { userID: ids[0], level: 0 },
      _entities: [{ __typename: 'User', userID: ids[1], nick: `nick of ${ids[1]}` }, null],
    });
    expect(await other.request(query, { as: ids[0], variables })).toEqual(response);
  });

  it('sends cache-control: no-store', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await server.token(uniqueUserID())}` },
      body: JSON.stringify({ query: '{ me { userID } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  const sameErrors: Array<
    [string, (ids: string[]) => { query: string; variables?: Record<string, unknown>; as?: string }]
  > = [
    ['no token', (ids) => ({ query: USERS, variables: { ids } })],
    ['an invalid ID', (ids) => ({ query: USERS, variables: { ids: [ids[0], ''] }, as: ids[0] })],
    ['a variable of the wrong type', (ids) => ({ query: USERS, variables: { ids: [{ id: 1 }] }, as: ids[0] })],
    ['a missing variable', (ids) => ({ query: USERS, as: ids[0] })],
    [
      'an out-of-range UInt32 in variables',
      (ids) => ({
        query: `mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`,
        variables: { input: { birthday: -1 } },
        as: ids[0],
      }),
    ],
    [
      'an invalid enum value in variables',
      (ids) => ({
        query: `mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`,
        variables: { input: { gender: 'OTHER' } },
        as: ids[0],
      }),
    ],
    [
      'a rule the service checks',
      (ids) => ({
        query: `mutation { updateMyProfile(input: { location: "${'x'.repeat(17)}" }) { userID } }`,
        as: ids[0],
      }),
    ],
    ['an empty update', (ids) => ({ query: `mutation { updateMyProfile(input: {}) { userID } }`, as: ids[0] })],
    ['an unknown field', (ids) => ({ query: `{ me { userID nope } }`, as: ids[0] })],
    ['a syntax error', (ids) => ({ query: `{ me { userID }`, as: ids[0] })],
  ];

  it.each(sameErrors)('answers %s as the other execution does', async (_case, build) => {
    const ids = await createProfiles(server, 1);
    const { query, variables, as } = build(ids);
    const response = await server.request(query, { variables, as });
    expect(response.errors?.length).toBeGreaterThan(0);
    for (const error of response.errors!) {
      expect(typeof error.extensions?.code).toBe('string');
      expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    }
    expect(await other.request(query, { variables, as })).toEqual(response);
  });
});

describe('an unexpected error, in both executions', () => {
  let database: Awaited<ReturnType<typeof createOwnDatabase>>;
  const servers: TestServer[] = [];
  beforeAll(async () => {
    // Its own database, whose user_profile loses a column the read statement names: every read then
    // fails in a way no input can cause and the service does not expect.
    database = await createOwnDatabase('profile_masking');
    for (const jit of ['true', 'false']) {
      servers.push(await startTestServer({ DATABASE_URL: database.url, DB_MIGRATE: 'true', GRAPHQL_JIT: jit }));
    }
    await servers[0].app.database.pool.query('ALTER TABLE user_profile RENAME COLUMN nick TO nick_gone');
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await database?.drop();
  });

  it('is masked as INTERNAL_SERVER_ERROR, with nothing of the database in the answer', async () => {
    const id = uniqueUserID('mask');
    const query = `query($ids: [ID!]!) { users(ids: $ids) { userID } }`;
    const [jit, js] = await Promise.all(
      servers.map((server) => server.request(query, { as: id, variables: { ids: [id] } })),
    );
    expect(jit.status).toBe(200);
    expect(jit.data).toBeNull();
    expect(jit.errors).toEqual([
      {
        message: 'Internal server error',
        locations: [{ line: 1, column: 23 }],
        path: ['users'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ]);
    expect(js).toEqual(jit);
  });
});
