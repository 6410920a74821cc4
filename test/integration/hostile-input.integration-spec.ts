import { GraphQLError } from 'graphql';
import net from 'node:net';
import { Client, type Pool } from 'pg';
import type { InputDataException } from '../../src/db/database-errors';
import { createSqlRunner, type SqlRunner } from '../../src/db/sql-runner';
import { storedProfile } from '../support/db';
import {
  countStatements,
  SMALL_QUERY_LIMITS,
  startTestServer,
  uniqueUserID,
  type GraphQLResponse,
  type TestServer,
} from '../support/test-server';

/** Sends a raw HTTP request to the GraphQL endpoint and returns status, headers and parsed body. */
async function raw(
  server: TestServer,
  init: { method?: string; body?: string | Buffer; headers?: Record<string, string>; search?: string },
): Promise<{ status: number; headers: Headers; body: GraphQLResponse }> {
  const response = await fetch(`${server.url}${init.search ?? ''}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? {} : JSON.parse(text) };
}

/** The server still answers an ordinary authenticated query. */
async function expectHealthy(server: TestServer): Promise<void> {
  const userID = uniqueUserID('ok');
  const result = await server.request('{ me { userID } }', { as: userID });
  expect(result.status).toBe(200);
  expect(result.errors).toBeUndefined();
  expect(result.data?.me.userID).toBe(userID);
}

describe('hostile requests, with small limits configured', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      ...SMALL_QUERY_LIMITS,
      HTTP_BODY_LIMIT_BYTES: '4096',
    });
  });
  afterAll(() => server.stop());
  afterEach(() => expectHealthy(server));

  const refusedFor = (result: GraphQLResponse, code: string, reason: string) => {
    expect(result.data ?? undefined).toBeUndefined();
    expect(result.errors?.[0].extensions).toMatchObject({ code, reason });
    expect(result.errors?.[0].extensions?.stacktrace).toBeUndefined();
  };

  it('refuses a query deeper than GRAPHQL_MAX_DEPTH', async () => {
    const result = await server.request('{ me { profileCustomField { key } } }', { as: uniqueUserID() });
    expect(result.status).toBe(400);
    refusedFor(result, 'GRAPHQL_VALIDATION_FAILED', 'DEPTH_LIMIT');
    expect(result.errors?.[0].extensions).toMatchObject({ field: 'query', limit: 2 });
    const deepThroughFragments = await server.request(
      'query { me { ...A } } fragment A on User { profileCustomField { ...B } } fragment B on ProfileCustomField { key }',
      { as: uniqueUserID() },
    );
    refusedFor(deepThroughFragments, 'GRAPHQL_VALIDATION_FAILED', 'DEPTH_LIMIT');
  });

  it('refuses more aliases than GRAPHQL_MAX_ALIASES', async () => {
    const result = await server.request('{ a: me { nick } b: me { nick } c: me { nick } d: me { nick } }', {
      as: uniqueUserID(),
    });
    expect(result.status).toBe(400);
    refusedFor(result, 'GRAPHQL_VALIDATION_FAILED', 'ALIAS_LIMIT');
  });

  it('refuses a field repeated more than GRAPHQL_MAX_DUPLICATE_FIELDS times', async () => {
    const result = await server.request('{ me { nick nick nick } }', { as: uniqueUserID() });
    expect(result.status).toBe(400);
    refusedFor(result, 'GRAPHQL_VALIDATION_FAILED', 'DUPLICATE_FIELD_LIMIT');
  });

  it('refuses more directives than GRAPHQL_MAX_DIRECTIVES', async () => {
    const result = await server.request(
      '{ me { nick @include(if: true) avatar @include(if: true) userID @skip(if: false) } }',
      { as: uniqueUserID() },
    );
    expect(result.status).toBe(400);
    refusedFor(result, 'GRAPHQL_VALIDATION_FAILED', 'DIRECTIVE_LIMIT');
  });

  it('refuses a document with more than GRAPHQL_MAX_TOKENS tokens with a 400, not a 500', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `"id${i}"`).join(' ');
    const result = await server.request(`{ users(ids: [${ids}]) { userID } }`, { as: uniqueUserID() });
    expect(result.status).toBe(400);
    refusedFor(result, 'GRAPHQL_PARSE_FAILED', 'TOKEN_LIMIT');
  });

  it('counts users(ids:) by its list length, from a literal or from variables', async () => {
    const viewer = uniqueUserID();
    const ids = Array.from({ length: 20 }, () => uniqueUserID());
    // 20 IDs x (users + userID + nick) = 60: at the limit.
    const atLimit = await server.request('query($ids: [ID!]!) { users(ids: $ids) { userID nick } }', {
      as: viewer,
      variables: { ids },
    });
    expect(atLimit.errors).toBeUndefined();
    expect(atLimit.data?.users).toEqual([]);

    const overByVariables = await server.request('query($ids: [ID!]!) { users(ids: $ids) { userID nick } }', {
      as: viewer,
      variables: { ids: [...ids, uniqueUserID()] },
    });
    expect(overByVariables.status).toBe(400);
    refusedFor(overByVariables, 'GRAPHQL_VALIDATION_FAILED', 'COST_LIMIT');

    const literal = JSON.stringify([...ids, uniqueUserID()]);
    const overByLiteral = await server.request(`{ users(ids: ${literal}) { userID nick } }`, { as: viewer });
    refusedFor(overByLiteral, 'GRAPHQL_VALIDATION_FAILED', 'COST_LIMIT');
  });

  it('refuses a body over HTTP_BODY_LIMIT_BYTES with 413 before parsing it', async () => {
    const result = await raw(server, {
      body: JSON.stringify({ query: '{ me { nick } }', variables: { pad: 'x'.repeat(5000) } }),
    });
    expect(result.status).toBe(413);
    expect(result.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', reason: 'BODY_TOO_LARGE' });
  });

  it('refuses a body sent in chunks without a length once it passes the limit', async () => {
    const chunk = Buffer.from('x'.repeat(1024));
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i += 1) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
  });

  it('refuses batched (array) requests while batching is off', async () => {
    const result = await raw(server, {
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(result.status).toBe(400);
  });

  it('refuses a body that is not valid UTF-8 as BAD_USER_INPUT', async () => {
    const body = Buffer.concat([
      Buffer.from('{"query":"mutation { updateMyProfile(input: {nick: \\"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('\\"}) { nick } }"}'),
    ]);
    const result = await raw(server, { body });
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'body',
      reason: 'INVALID_CHARACTERS',
    });
  });

  it('keeps CSRF prevention on: a simple-request GET or text/plain POST is refused', async () => {
    const get = await fetch(`${server.url}?query=${encodeURIComponent('{ __typename }')}`);
    expect(get.status).toBe(400);
    const textPlain = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(textPlain.status).toBe(400);
    // With the preflight header a GET query is served, so the refusal above was CSRF prevention.
    const preflighted = await fetch(`${server.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(preflighted.status).toBe(200);
  });

  it('never runs a mutation sent over GET', async () => {
    const userID = uniqueUserID('get');
    const token = await server.token(userID);
    const mutation = 'mutation { updateMyProfile(input: { nick: "via-get" }) { nick } }';
    const response = await fetch(`${server.url}?query=${encodeURIComponent(mutation)}`, {
      headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(405);
    const me = await server.request('{ me { nick } }', { as: userID });
    expect(me.data?.me.nick).toBe('');
  });
});

describe('hostile requests, with the production defaults', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'production', GRAPHQL_BATCH_ENABLED: 'true' });
  });
  afterAll(() => server.stop());
  afterEach(() => expectHealthy(server));

  it('answers request targets a URL parser rejects (such as //) with 404, and keeps serving', async () => {
    const { port } = new URL(server.url);
    for (const [method, target] of [
      ['POST', '//'],
      ['GET', '//'],
      ['GET', '//host:port/graphql'],
      ['GET', '/graphql//..//'],
    ]) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () =>
          socket.write(`${method} ${target} HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nConnection: close\r\n\r\n`),
        );
        let received = '';
        socket.on('data', (chunk) => (received += String(chunk)));
        socket.on('end', () => resolve(received));
        socket.on('error', reject);
      });
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
    }
  });

  it('refuses introspection', async () => {
    const result = await server.request('{ __schema { types { name } } }', { as: uniqueUserID() });
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.data ?? undefined).toBeUndefined();
  });

  it('gives no field suggestions in validation errors', async () => {
    const result = await server.request('{ me { nik } }', { as: uniqueUserID() });
    expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0].message).not.toMatch(/Did you mean|"nick"/);
  });

  it('gives no suggestions in errors about variables', async () => {
    const result = await server.request(
      'mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { nick } }',
      { as: uniqueUserID(), variables: { input: { gender: 'MAL' } } },
    );
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'gender' });
    expect(result.errors?.[0].message).not.toMatch(/Did you mean|MALE/);
    const unknownField = await server.request(
      'mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { nick } }',
      { as: uniqueUserID(), variables: { input: { nik: 'x' } } },
    );
    expect(unknownField.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(unknownField.errors?.[0].message).not.toMatch(/Did you mean|"nick"/);
  });

  it('has documented defaults: 16 aliases are refused, 15 are served', async () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: me { nick }`).join(' ');
    const result = await server.request(`{ ${aliases} }`, { as: uniqueUserID() });
    expect(result.errors?.[0].extensions).toMatchObject({ reason: 'ALIAS_LIMIT', limit: 15 });
    const fifteen = Array.from({ length: 15 }, (_, i) => `a${i}: me { nick }`).join(' ');
    const allowed = await server.request(`{ ${fifteen} }`, { as: uniqueUserID() });
    expect(allowed.errors).toBeUndefined();
  });

  it('refuses a body over the default 1 MiB', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1024 * 1024) } }),
    });
    expect(response.status).toBe(413);
  });

  it('serves batches when enabled, up to GRAPHQL_BATCH_MAX_OPERATIONS', async () => {
    const token = await server.token(uniqueUserID());
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const batch = (n: number) => JSON.stringify(Array.from({ length: n }, () => ({ query: '{ me { userID } }' })));
    const ten = await fetch(server.url, { method: 'POST', headers, body: batch(10) });
    expect(ten.status).toBe(200);
    const answers = (await ten.json()) as GraphQLResponse[];
    expect(answers).toHaveLength(10);
    expect(answers.every((answer) => answer.errors === undefined)).toBe(true);
    const eleven = await fetch(server.url, { method: 'POST', headers, body: batch(11) });
    expect(eleven.status).toBe(400);
    expect(((await eleven.json()) as GraphQLResponse).errors?.[0].extensions).toMatchObject({
      code: 'BAD_REQUEST',
      reason: 'BATCH_LIMIT',
    });
  });
});

/**
 * Values the database would refuse, or store garbled, sent through the API: validation refuses
 * each before any statement is sent (the next block shows what the database does with them).
 */
describe('values the database would refuse are BAD_USER_INPUT before any statement, and change nothing', () => {
  let server: TestServer;
  let before: number;

  beforeAll(async () => {
    server = await startTestServer();
    await server.stopBackgroundWork();
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    before = server.statements();
  });
  afterEach(() => expectHealthy(server));

  /** The request (made first in each test) sent nothing to the database. */
  async function refused(response: Promise<GraphQLResponse>): Promise<GraphQLResponse> {
    const result = await response;
    expect(server.statements() - before).toBe(0);
    return result;
  }

  const update = 'mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { nick } }';

  it.each([
    ['a NUL byte', 'a\u0000b', 'INVALID_CHARACTERS'],
    ['a lone surrogate', 'a\ud800b', 'INVALID_CHARACTERS'],
    ['a 100,000-character value', 'x'.repeat(100_000), 'TOO_LONG'],
  ])('in a nickname: %s', async (_name, nick, reason) => {
    const userID = uniqueUserID();
    const result = await refused(server.request(update, { as: userID, variables: { input: { nick } } }));
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'nick', reason });
    const me = await server.request('{ me { nick } }', { as: userID });
    expect(me.data?.me.nick).toBe('');
  });

  it.each([
    ['a NUL byte', 'a\u0000b', 'INVALID_CHARACTERS'],
    ['a lone surrogate', '\udc00', 'INVALID_CHARACTERS'],
    ['a very long ID', 'x'.repeat(3000), 'TOO_LONG'],
  ])('in users(ids:): %s', async (_name, id, reason) => {
    const result = await refused(
      server.request('query($ids: [ID!]!) { users(ids: $ids) { userID } }', {
        as: uniqueUserID(),
        variables: { ids: [uniqueUserID(), id] },
      }),
    );
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids[1]', reason });
  });

  it.each([
    ['a NUL byte', 'Tag_Profile_Custom_Te\u0000st1'],
    ['a lone surrogate', 'Tag_Profile_Custom_\ud800'],
    ['a very long key', `Tag_Profile_Custom_${'x'.repeat(3000)}`],
  ])('in a custom field key: %s', async (_name, key) => {
    const userID = uniqueUserID();
    const result = await refused(
      server.request(update, {
        as: userID,
        variables: { input: { nick: 'changed', profileCustomField: [{ key, value: 'v' }] } },
      }),
    );
    expect(result.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'profileCustomField[0].key',
      reason: 'UNKNOWN_CUSTOM_FIELD',
    });
    const me = await server.request('{ me { nick } }', { as: userID });
    expect(me.data?.me.nick).toBe('');
  });

  it('in a custom field value: a NUL byte', async () => {
    const result = await refused(
      server.request(update, {
        as: uniqueUserID(),
        variables: { input: { profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: '\u0000' }] } },
      }),
    );
    expect(result.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'profileCustomField[0].value',
      reason: 'INVALID_CHARACTERS',
    });
  });

  it.each([
    ['a NUL byte', 'bad\u0000id'],
    ['a lone surrogate', 'bad\ud800'],
    ['a very long ID', 'x'.repeat(3000)],
  ])('in a token subject: %s', async (_name, subject) => {
    const token = await server.token(subject);
    const result = await refused(server.request('{ me { userID } }', { token }));
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
  });

  it('in a federation representation: such IDs resolve to null, not to an error', async () => {
    const result = await refused(
      server.request('query($r: [_Any!]!) { _entities(representations: $r) { ... on User { userID } } }', {
        as: uniqueUserID(),
        variables: {
          r: [
            { __typename: 'User', userID: 'a\u0000b' },
            { __typename: 'User', userID: '\ud800' },
            { __typename: 'User', userID: 'x'.repeat(3000) },
          ],
        },
      }),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual([null, null, null]);
  });
});

/**
 * Under validation, the statements themselves: the same values sent straight to the service's
 * real statements reach the database, which refuses them with a data exception the statement
 * declares, answered BAD_USER_INPUT; nothing changes.
 */
describe('the database safety net', () => {
  let server: TestServer;
  let statements: () => number;

  beforeAll(async () => {
    server = await startTestServer();
    await server.stopBackgroundWork();
    statements = countStatements(server.app.database.pool);
  });
  afterAll(() => server.stop());

  async function refusal(call: () => Promise<unknown>): Promise<GraphQLError> {
    const before = statements();
    const error = await call().then(
      () => new Error('Postgres accepted the value'),
      (caught: unknown) => caught,
    );
    // It was the database that refused: the statement was sent.
    expect(statements() - before).toBe(1);
    expect(error).toBeInstanceOf(GraphQLError);
    return error as GraphQLError;
  }

  it.each([
    ['one ID', ['a\u0000b']],
    ['a list of IDs', () => [uniqueUserID(), 'a\u0000b']],
    ['a list of IDs, one holding the separator of joined lists', () => [uniqueUserID(), 'a\u0001\u0000b']],
  ])('refuses a NUL in a profile read of %s', async (_name, ids) => {
    const list = typeof ids === 'function' ? ids() : ids;
    const error = await refusal(() => server.app.services.profileRepository.findByIds(list));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_CHARACTERS' });
  });

  it.each([
    ['a NUL in a nickname', { standard: { nick: 'a\u0000b' }, customSet: {}, customRemove: [] }],
    [
      'a NUL in a custom field value',
      { standard: {}, customSet: { Tag_Profile_Custom_Test1: '\u0000' }, customRemove: [] },
    ],
    [
      'a NUL in a custom field key',
      { standard: {}, customSet: { 'Tag_Profile_Custom_Te\u0000st1': 'v' }, customRemove: [] },
    ],
  ])('refuses %s in a profile update, changing nothing', async (_name, patch) => {
    const repository = server.app.services.profileRepository;
    const userID = uniqueUserID();
    await repository.createIfMissing(userID);
    const stored = await storedProfile(server.app.database.pool, userID);
    const error = await refusal(() => repository.applyPatch(userID, patch, userID));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_CHARACTERS' });
    expect(await storedProfile(server.app.database.pool, userID)).toEqual(stored);
  });
});

describe('the database errors the safety net maps', () => {
  let client: Client;
  let sql: SqlRunner;

  beforeAll(async () => {
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    await client.query('CREATE TEMP TABLE short_text (v varchar(2))');
    // The same runner the repository uses, over one real connection (the temp table is per session).
    sql = createSqlRunner(client as unknown as Pool);
  });
  afterAll(() => client.end());

  it.each([
    ['22021', 'invalid byte sequence (NUL in text)', 'SELECT $1::text AS v', ['a\u0000b'], 'INVALID_CHARACTERS'],
    [
      '22P05',
      'untranslatable character (\\u0000 in jsonb)',
      'SELECT $1::jsonb AS v',
      ['{"k":"\\u0000"}'],
      'INVALID_CHARACTERS',
    ],
    ['22001', 'value too long', 'INSERT INTO short_text (v) VALUES ($1)', ['abc'], 'TOO_LONG'],
    ['22P02', 'invalid text representation', 'SELECT $1::uuid AS v', ['not-a-uuid'], 'INVALID_VALUE'],
  ])('maps %s %s to BAD_USER_INPUT in a statement that declares it', async (code, _name, text, values, reason) => {
    const rejection = (statement: Parameters<SqlRunner['query']>[0]) =>
      sql.query(statement).then(
        () => new Error('Postgres accepted the value'),
        (caught: unknown) => caught,
      );
    // Undeclared, the error is the database's own, with its SQLSTATE.
    expect((await rejection({ text, values })) as { code?: string }).toMatchObject({ code });
    const error = await rejection({ text, values, fromInput: [code as InputDataException] });
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input', reason });
  });
});
