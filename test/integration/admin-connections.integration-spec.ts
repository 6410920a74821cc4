import { uniqueFieldKey } from '../support/custom-fields';
import { startTestServer, uniqueUserID, type GraphQLResponse, type TestServer } from '../support/test-server';

/**
 * Each administrative operation, its reads and its audit row included, runs on one pool
 * connection: a request of many aliased admin reads can neither exhaust the pool nor starve
 * other callers.
 */

const ALIASES = 15; // GRAPHQL_MAX_ALIASES' default
const CONNECT_TIMEOUT_MS = 2000; // DB_CONNECT_TIMEOUT_MS' default

async function timed<T>(call: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await call();
  return { result, ms: performance.now() - started };
}

function expectAnswered(response: GraphQLResponse): void {
  expect({ status: response.status, errors: response.errors }).toEqual({ status: 200, errors: undefined });
}

describe('with the default pool (10 connections) and connect timeout', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ DB_POOL_MAX: '10' });
  });
  afterAll(() => server.stop());

  it(`answers ${ALIASES} aliased userProfile reads at once, and a bystander meanwhile`, async () => {
    const admin = { as: uniqueUserID('admin'), admin: true };
    const users = Array.from({ length: ALIASES }, () => uniqueUserID('read'));
    const imported = await server.request(
      `mutation ($accounts: [ImportAccountInput!]!) { importAccounts(accounts: $accounts) { userID } }`,
      { ...admin, variables: { accounts: users.map((userID) => ({ userID, nick: `nick ${userID}` })) } },
    );
    expectAnswered(imported);

    const reads = users.map((userID, index) => `p${index}: userProfile(userID: "${userID}") { userID nick }`);
    const [many, bystander] = await Promise.all([
      timed(() => server.request(`{ ${reads.join(' ')} }`, admin)),
      timed(() => server.request('{ me { userID } }', { as: uniqueUserID('bystander') })),
    ]);

    expectAnswered(many.result);
    expect(Object.values(many.result.data!)).toEqual(users.map((userID) => ({ userID, nick: `nick ${userID}` })));
    expectAnswered(bystander.result);
    expect(bystander.result.data!.me).toEqual({ userID: expect.any(String) });
    // Waiting for a connection that never frees up ends at the connect timeout, as a 503.
    expect(many.ms).toBeLessThan(CONNECT_TIMEOUT_MS);
    expect(bystander.ms).toBeLessThan(CONNECT_TIMEOUT_MS);
  });

  it(`answers ${ALIASES} aliased checkAccounts at once`, async () => {
    const known = uniqueUserID('known');
    await server.request('{ me { userID } }', { as: known });
    const checks = Array.from(
      { length: ALIASES },
      (_, index) => `c${index}: checkAccounts(ids: ["${known}", "nobody_${index}"]) { exists }`,
    );
    const response = await server.request(`{ ${checks.join(' ')} }`, { as: uniqueUserID('admin'), admin: true });
    expectAnswered(response);
    expect(Object.values(response.data!)).toEqual(Array(ALIASES).fill([{ exists: true }, { exists: false }]));
  });
});

describe('with a pool of one connection', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ DB_POOL_MAX: '1', DB_CONNECT_TIMEOUT_MS: '1000' });
  });
  afterAll(() => server.stop());

  it('carries out every administrative operation, reads and refusals included', async () => {
    const admin = { as: uniqueUserID('admin'), admin: true };
    const user = uniqueUserID('member');
    const key = uniqueFieldKey();
    const calls: Array<[string, Record<string, unknown>?]> = [
      [`mutation ($a: [ImportAccountInput!]!) { importAccounts(accounts: $a) { userID } }`, { a: [{ userID: user }] }],
      [`query ($id: ID!) { userProfile(userID: $id) { userID } }`, { id: user }],
      [`query ($ids: [ID!]!) { checkAccounts(ids: $ids) { exists } }`, { ids: [user] }],
      [`mutation ($id: ID!) { setUserProfile(userID: $id, input: { nick: "set" }) { nick } }`, { id: user }],
      [`mutation ($key: String!) { defineProfileCustomField(input: { key: $key }) { key } }`, { key }],
      [`mutation ($key: String!) { retireProfileCustomField(key: $key) { retired } }`, { key }],
      ['{ profileCustomFieldDefinitions(includeRetired: true) { key } }'],
    ];
    for (const [query, variables] of calls) expectAnswered(await server.request(query, { ...admin, variables }));

    const refused = await server.request(`query ($id: ID!) { userProfile(userID: $id) { userID } }`, {
      as: uniqueUserID('plain'),
      variables: { id: user },
    });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });
    const rejected = await server.request(`query { checkAccounts(ids: ["a\\u0001b"]) { exists } }`, admin);
    expect(rejected.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids[0]' });
  });

  it('answers SERVICE_UNAVAILABLE when no connection frees up in time, refusals included', async () => {
    const held = await server.app.database.pool.connect();
    try {
      const query = `query ($id: ID!) { userProfile(userID: $id) { userID } }`;
      const variables = { id: uniqueUserID() };
      const [admin, plain] = await Promise.all([
        server.request(query, { as: uniqueUserID('admin'), admin: true, variables }),
        server.request(query, { as: uniqueUserID('plain'), variables }),
      ]);
      for (const response of [admin, plain]) {
        expect({ status: response.status, codes: response.errors?.map((error) => error.extensions?.code) }).toEqual({
          status: 503,
          codes: ['SERVICE_UNAVAILABLE'],
        });
      }
    } finally {
      held.release();
    }
  });
});
