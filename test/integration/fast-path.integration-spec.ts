import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

/**
 * The first time a server sees an operation, Apollo's pipeline answers it; the same text again takes
 * the fast path (src/execution/fast-path.ts) when it succeeds, or is handed back to Apollo with the
 * work already done. Each case sends one request twice and expects the same status, headers and bytes.
 */
const PROFILE = `userID nick avatar gender selfSignature allowType birthday location language messageSettings
  adminForbidType level role profileCustomField { key value } lastUpdatedTime`;

interface RawAnswer {
  status: number;
  text: string;
  headers: Record<string, string | null>;
}

const COMPARED_HEADERS = ['content-type', 'cache-control', 'content-length', 'retry-after'];

async function post(server: TestServer, body: unknown, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    headers: Object.fromEntries(COMPARED_HEADERS.map((name) => [name, response.headers.get(name)])),
  };
}

async function fastPathCount(server: TestServer): Promise<number> {
  const metric = await server.app.services.metrics.registry
    .getSingleMetric('graphql_fast_path_operations_total')
    ?.get();
  return metric?.values[0]?.value ?? 0;
}

/** Sends `body` twice; returns both answers and how many of the two the fast path answered. */
async function twice(server: TestServer, body: unknown, headers: Record<string, string> = {}) {
  const before = await fastPathCount(server);
  const first = await post(server, body, headers);
  const second = await post(server, body, headers);
  return { first, second, fast: (await fastPathCount(server)) - before };
}

describe('the fast path for repeated operations', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    // Statements are counted on the server's pool: only requests may send any.
    await server.stopBackgroundWork();
  });
  afterAll(() => server.stop());

  const bearer = async (userID: string) => ({ authorization: `Bearer ${await server.token(userID)}` });

  it('answers a repeated read with the same bytes and headers as Apollo', async () => {
    const userID = uniqueUserID('fast');
    await server.request('mutation { updateMyProfile(input: { nick: "fast", level: 3 }) { nick } }', { as: userID });
    const query = `query FastUsers($ids: [ID!]!) { users(ids: $ids) { ${PROFILE} } me { nick } }`;
    const body = { operationName: 'FastUsers', query, variables: { ids: [userID, uniqueUserID('none')] } };
    const statementsBefore = server.statements();
    const { first, second, fast } = await twice(server, body, await bearer(userID));
    // One statement per request on both paths: me and users share the request's loader batch.
    expect(server.statements() - statementsBefore).toBe(2);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text).data.users[0]).toMatchObject({ userID, nick: 'fast', level: 3 });
    expect(second).toEqual(first);
    expect(fast).toBe(1);
  });

  it('leaves errors to Apollo: without a token, with a bad value, with bad variables', async () => {
    const cases: Array<[unknown, Record<string, string>]> = [
      [{ query: '{ me { userID } }' }, {}],
      [
        {
          query:
            'mutation { updateMyProfile(input: { gender: GENDER_MALE, level: 4294967295, nick: "\\u0001" }) { nick } }',
        },
        await bearer(uniqueUserID()),
      ],
      [
        { query: 'query($ids: [ID!]!) { users(ids: $ids) { nick } }', variables: { ids: [{ not: 'an ID' }] } },
        await bearer(uniqueUserID()),
      ],
      [
        { query: 'query($ids: [ID!]!) { users(ids: $ids) { nick } }', variables: { ids: [null] } },
        await bearer(uniqueUserID()),
      ],
    ];
    for (const [body, headers] of cases) {
      const { first, second, fast } = await twice(server, body, headers);
      expect({ body, errors: JSON.parse(first.text).errors?.length }).toEqual({ body, errors: 1 });
      expect(second).toEqual(first);
      expect(fast).toBe(0);
    }
  });

  it('runs a mutation with a failing part once, and Apollo reports its errors', async () => {
    const userID = uniqueUserID('fast');
    const headers = await bearer(userID);
    const mutation = `mutation($nick: String!) {
      ok: updateMyProfile(input: { nick: $nick }) { nick }
      bad: updateMyProfile(input: { selfSignature: "${'x'.repeat(501)}" }) { nick }
    }`;
    await post(server, { query: mutation, variables: { nick: 'first' } }, headers);
    const before = server.statements();
    const fastBefore = await fastPathCount(server);
    const again = await post(server, { query: mutation, variables: { nick: 'second' } }, headers);
    expect(server.statements() - before).toBe(1);
    expect(await fastPathCount(server)).toBe(fastBefore);
    const body = JSON.parse(again.text);
    // updateMyProfile is non-null: the failing field nulls the whole answer, the other part is kept.
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'selfSignature' });
    expect(body.errors[0].path).toEqual(['bad']);
    const me = await server.request('{ me { nick } }', { as: userID });
    expect(me.data?.me.nick).toBe('second');
  });

  it('answers with the content type Apollo chooses for the accept header, e.g. Apollo Client’s', async () => {
    const headers = await bearer(uniqueUserID());
    const cases = [
      ['application/graphql-response+json,application/json;q=0.9', 'application/graphql-response+json; charset=utf-8'],
      ['application/json, text/plain, */*', 'application/json; charset=utf-8'],
      ['', 'application/json; charset=utf-8'],
    ];
    for (const [accept, type] of cases) {
      // A comment makes each text new to the server, so the first request goes through Apollo.
      const body = { query: `{ me { userID } } # accept: ${accept}` };
      const { first, second, fast } = await twice(server, body, { ...headers, accept });
      expect(first.headers['content-type']).toBe(type);
      expect(second).toEqual(first);
      expect(fast).toBe(1);
    }
  });

  it('is not taken for extensions, or for an accept header Apollo refuses', async () => {
    const headers = await bearer(uniqueUserID());
    const query = '{ me { userID } } # not taken';
    await post(server, { query }, headers);
    const before = await fastPathCount(server);
    const withExtensions = await post(server, { query, extensions: {} }, headers);
    expect(JSON.parse(withExtensions.text).data.me.userID).toBeDefined();
    const refused = await twice(server, { query }, { ...headers, accept: 'text/plain' });
    expect(refused.first.status).toBe(406);
    expect(refused.second).toEqual(refused.first);
    expect(await fastPathCount(server)).toBe(before);
  });

  it('counts a write once against the rate limit, and hands a refusal to Apollo (429)', async () => {
    const limited = await startTestServer({ RATE_LIMIT_WINDOW_SECONDS: '86400', RATE_LIMIT_WRITES_PER_USER: '2' });
    try {
      const headers = { authorization: `Bearer ${await limited.token(uniqueUserID('fast'))}` };
      const body = { query: 'mutation { updateMyProfile(input: { level: 7 }) { level } }' };
      const answers = [];
      for (let i = 0; i < 4; i += 1) answers.push(await post(limited, body, headers));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429, 429]);
      expect(Number(answers[2].headers['retry-after'])).toBeGreaterThan(0);
      expect(JSON.parse(answers[2].text).errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'USER' });
      expect(await fastPathCount(limited)).toBe(1);
    } finally {
      await limited.stop();
    }
  });
});
