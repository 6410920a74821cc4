import { randomInt } from 'node:crypto';
import type { RunningApp } from '../../src/app';
import { issueToken } from '../../src/auth/token-issuer';
import { startLoggedApp } from '../support/logged-app';
import { connect, waitFor, type ReceivedResult, type WsConnection } from '../support/subscription-client';
import { SMALL_QUERY_LIMITS, TEST_JWT_SECRET, uniqueUserID } from '../support/test-server';

/** An address no other test uses, sent the way a gateway forwards it. */
const uniqueAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

const token = (userID: string) => issueToken(TEST_JWT_SECRET, userID);

/** POSTs over HTTP as `userID` from `address`. */
async function overHttp(app: RunningApp, userID: string, address: string, query: string, variables?: object) {
  const response = await fetch(app.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await token(userID)}`,
      'x-forwarded-for': address,
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as ReceivedResult;
}

/** The parts of an error a client relies on: its code, reason, field and limit, and its message. */
const refusal = (result: ReceivedResult) => {
  const [error] = result.errors ?? [];
  const { code, reason, field, limit, stacktrace } = error?.extensions ?? {};
  return { data: result.data ?? undefined, message: error?.message, code, reason, field, limit, stacktrace };
};

describe('the WebSocket transport passes the same gate as HTTP (production)', () => {
  let app: RunningApp;
  let lines: any[];
  const sockets: WsConnection[] = [];
  const open = async (userID: string, address = uniqueAddress()) => {
    const socket = connect(app.url, await token(userID), { headers: { 'x-forwarded-for': address } });
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    ({ app, lines } = await startLoggedApp({
      TRUST_PROXY: 'true',
      ...SMALL_QUERY_LIMITS,
      // A day-long window: the counts cannot reset in the middle of a test.
      RATE_LIMIT_WINDOW_SECONDS: '86400',
      RATE_LIMIT_WRITES_PER_USER: '3',
      RATE_LIMIT_WRITES_PER_IP: '5',
    }));
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
  });
  afterAll(() => app.stop());

  const ids = (count: number) => JSON.stringify(Array.from({ length: count }, () => uniqueUserID()));
  const refused: Array<[string, string, string]> = [
    ['introspection', '{ __schema { queryType { name } } }', 'INTROSPECTION_DISABLED'],
    ['introspection by type', '{ __type(name: "User") { name } }', 'INTROSPECTION_DISABLED'],
    ['depth', '{ me { profileCustomField { key } } }', 'DEPTH_LIMIT'],
    ['aliases', '{ a: me { nick } b: me { nick } c: me { nick } d: me { nick } }', 'ALIAS_LIMIT'],
    ['duplicate fields', '{ me { nick nick nick } }', 'DUPLICATE_FIELD_LIMIT'],
    [
      'directives',
      '{ me { nick @include(if: true) avatar @include(if: true) userID @skip(if: false) } }',
      'DIRECTIVE_LIMIT',
    ],
    [
      'tokens',
      `{ users(ids: [${Array.from({ length: 250 }, (_, i) => `"id${i}"`).join(' ')}]) { userID } }`,
      'TOKEN_LIMIT',
    ],
    ['cost', `{ users(ids: ${ids(21)}) { userID nick } }`, 'COST_LIMIT'],
  ];

  it.each(refused)('refuses %s over the socket exactly as over HTTP', async (_name, query, reason) => {
    const userID = uniqueUserID('gate');
    const address = uniqueAddress();
    const socket = await open(userID, address);
    const viaSocket = await socket.execute(query);
    const viaHttp = await overHttp(app, userID, address, query);
    expect(refusal(viaSocket)).toEqual(refusal(viaHttp));
    expect(refusal(viaSocket)).toMatchObject({ data: undefined, reason, stacktrace: undefined });
    expect(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']).toContain(refusal(viaSocket).code);
    // The socket stays usable after a refusal.
    expect((await socket.execute('{ me { userID } }')).data).toEqual({ me: { userID } });
  });

  it('refuses a subscription over the cost limit', async () => {
    const socket = await open(uniqueUserID('gate'));
    const watch = socket.subscribe(`subscription { profileUpdated(userIDs: ${ids(40)}) { userID nick } }`);
    const errors = await waitFor('the refusal', () => watch.errors());
    expect(errors[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'COST_LIMIT', limit: 60 });
  });

  it('refuses a subscription sent over HTTP cleanly, named or not', async () => {
    for (const query of [
      'subscription { profileUpdated(userIDs: ["a"]) { userID } }',
      'subscription Watch { profileUpdated(userIDs: ["a"]) { userID } }',
    ]) {
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(uniqueUserID())}` },
        body: JSON.stringify({ query }),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as ReceivedResult;
      expect(refusal(body)).toMatchObject({
        code: 'BAD_REQUEST',
        reason: 'SUBSCRIPTION_NEEDS_WEBSOCKET',
        stacktrace: undefined,
      });
    }
  });

  it('refuses an operationName the document lacks, over HTTP and the socket alike', async () => {
    const userID = uniqueUserID('opname');
    const socket = await open(userID);
    for (const query of ['{ me { userID } }', 'subscription { profileUpdated(userIDs: ["a"]) { userID } }']) {
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(userID)}` },
        body: JSON.stringify({ query, operationName: 'Example' }),
      });
      expect(response.status).toBe(400);
      const overHttpBody = (await response.json()) as ReceivedResult;
      expect(refusal(overHttpBody)).toMatchObject({ code: 'OPERATION_RESOLUTION_FAILURE', stacktrace: undefined });
    }
    const watch = socket.client;
    const errors = await new Promise<ReceivedResult['errors']>((resolve) => {
      watch.subscribe(
        { query: '{ me { userID } }', operationName: 'Example' },
        {
          next: () => undefined,
          error: (error) => resolve(error as ReceivedResult['errors']),
          complete: () => undefined,
        },
      );
    });
    expect(errors?.[0].extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
  });

  it('masks field suggestions over the socket too', async () => {
    const socket = await open(uniqueUserID('gate'));
    const result = await socket.execute('{ me { nik } }');
    expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0].message).not.toMatch(/Did you mean|"nick"/);
  });

  it('counts every aliased mutation field as one write, over HTTP and over the socket', async () => {
    const userID = uniqueUserID('writes');
    const socket = await open(userID);
    const two =
      'mutation { a: updateMyProfile(input: { nick: "a" }) { nick } b: updateMyProfile(input: { nick: "b" }) { nick } }';
    // Two writes of the user's three.
    expect((await socket.execute(two)).errors).toBeUndefined();
    // Two more would make four: refused whole, over either transport, and nothing changes.
    const overSocket = await socket.execute(
      'mutation { c: updateMyProfile(input: { nick: "c" }) { nick } d: updateMyProfile(input: { nick: "d" }) { nick } }',
    );
    expect(overSocket.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'USER' });
    expect(overSocket.errors?.[0].extensions?.http).toBeUndefined();
    expect(overSocket.data ?? undefined).toBeUndefined();
    const overHttpResult = await overHttp(app, userID, uniqueAddress(), two);
    expect(overHttpResult.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'USER' });
    expect((await socket.execute('{ me { nick } }')).data).toEqual({ me: { nick: 'b' } });
    // A field skipped by @skip is not a write; __typename is not either.
    const other = await open(uniqueUserID('writes'));
    const skipped = await other.execute(
      'mutation($no: Boolean!) { __typename a: updateMyProfile(input: { nick: "a" }) @skip(if: $no) { nick } b: updateMyProfile(input: { nick: "b" }) { nick } c: updateMyProfile(input: { nick: "c" }) { nick } }',
      { no: true },
    );
    expect(skipped.errors).toBeUndefined();
    expect(skipped.data).toEqual({ __typename: 'Mutation', b: { nick: 'b' }, c: { nick: 'c' } });
  });

  it('limits writes per address over the socket, whoever signs them', async () => {
    const address = uniqueAddress();
    const first = await open(uniqueUserID('addr'), address);
    const second = await open(uniqueUserID('addr'), address);
    const write = 'mutation { updateMyProfile(input: { nick: "n" }) { nick } }';
    for (const socket of [first, first, first, second, second])
      expect((await socket.execute(write)).errors).toBeUndefined();
    const sixth = await second.execute(write);
    expect(sixth.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'IP' });
  });

  it('writes one log line per socket operation and counts it in /metrics', async () => {
    const userID = uniqueUserID('logged');
    const socket = await open(userID);
    expect((await socket.execute('query SocketRead { me { userID } }')).errors).toBeUndefined();
    expect((await socket.execute('query SocketRefused { me { nick nick nick } }')).errors).toBeDefined();
    const line = await waitFor('the log line of SocketRead', () =>
      lines.find((entry) => entry.msg === 'request' && entry.operations?.includes('SocketRead')),
    );
    expect(line).toMatchObject({ transport: 'websocket', path: '/graphql', outcome: 'success' });
    expect(typeof line.durationMs).toBe('number');
    const refusedLine = await waitFor('the log line of the refusal', () =>
      lines.find(
        (entry) =>
          entry.msg === 'request' &&
          entry.errorCodes?.includes('GRAPHQL_VALIDATION_FAILED') &&
          entry.transport === 'websocket',
      ),
    );
    expect(refusedLine.outcome).toBe('error');
    // Nothing of the token or the values is logged.
    expect(JSON.stringify(lines)).not.toContain(userID);
    const metrics = await (await fetch(app.url.replace(/\/graphql$/, '/metrics'))).text();
    expect(metrics).toMatch(/graphql_operations_total\{operation="SocketRead",outcome="success"\} 1/);
    expect(metrics).toMatch(/graphql_errors_total\{code="GRAPHQL_VALIDATION_FAILED"\} [1-9]/);
  });

  it('answers an unexpected error over the socket masked, without a stack', async () => {
    const socket = await open(uniqueUserID('masked'));
    // A variable of the wrong type is the client's input, labelled as over HTTP.
    const result = await socket.execute('query($ids: [ID!]!) { users(ids: $ids) { userID } }', {
      ids: { not: 'a list' },
    });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(result.errors?.[0].extensions?.stacktrace).toBeUndefined();
  });
});
