import { connect, untilDelivering, waitFor, type WsConnection } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const SUBSCRIPTION = `subscription($ids: [ID!]!) { profileUpdated(userIDs: $ids) { userID nick } }`;
const SET_NICK = `mutation($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }`;

describe('profileUpdated: connection rules', () => {
  let server: TestServer;
  const connections: WsConnection[] = [];

  beforeAll(async () => {
    server = await startTestServer({ SUBSCRIPTIONS_PER_CONNECTION: '2' });
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((connection) => connection.dispose()));
  });
  afterAll(async () => {
    await server?.stop();
  });

  function open(token: string | undefined): WsConnection {
    const connection = connect(server.url, token);
    connections.push(connection);
    return connection;
  }

  it.each([
    ['no token', undefined],
    ['a bad token', 'not-a-token'],
  ])('closes the connection with 4403 for %s', async (_name, token) => {
    const connection = open(token);
    const live = connection.subscribe(SUBSCRIPTION, { ids: [uniqueUserID()] });
    const closed = await waitFor('the socket to close', () => connection.closed());
    expect(closed.code).toBe(4403);
    expect(live.results).toEqual([]);
  });

  it('accepts the token under Authorization too', async () => {
    const viewer = uniqueUserID('viewer');
    const owner = uniqueUserID('owner');
    const connection = connect(server.url, await server.token(viewer), { tokenParam: 'Authorization' });
    connections.push(connection);
    const live = connection.subscribe(SUBSCRIPTION, { ids: [owner] });
    await untilDelivering(
      'the change',
      (attempt) => server.request(SET_NICK, { as: owner, variables: { nick: `hi ${attempt}` } }),
      () => live.results.some((r) => r.data?.profileUpdated?.nick?.startsWith('hi ')),
    );
  });

  it('rejects more than 100 distinct IDs with BAD_USER_INPUT', async () => {
    const connection = open(await server.token(uniqueUserID('viewer')));
    const ids = Array.from({ length: 101 }, () => uniqueUserID());
    const tooMany = connection.subscribe(SUBSCRIPTION, { ids });
    await waitFor('the answer', () => (tooMany.results.length > 0 || tooMany.errors() ? true : undefined));
    const errors = tooMany.results[0]?.errors ?? tooMany.errors();
    expect(errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userIDs', reason: 'TOO_MANY' });

    // 100 distinct IDs, each given twice, are accepted: the last of them is watched.
    const duplicates = connection.subscribe(SUBSCRIPTION, { ids: [...ids.slice(0, 100), ...ids.slice(0, 100)] });
    await untilDelivering(
      'a change of the 100th user',
      (attempt) => server.request(SET_NICK, { as: ids[99], variables: { nick: `n ${attempt}` } }),
      () => duplicates.results.some((r) => r.data?.profileUpdated?.userID === ids[99]),
    );
    expect(duplicates.errors()).toBeUndefined();
  });

  it('rejects an invalid user ID with its index', async () => {
    const connection = open(await server.token(uniqueUserID('viewer')));
    const live = connection.subscribe(SUBSCRIPTION, { ids: ['ok', 'x'.repeat(33)] });
    await waitFor('the answer', () => (live.results.length > 0 ? true : undefined));
    expect(live.results[0].errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'userIDs[1]',
      reason: 'TOO_LONG',
    });
  });

  it('bounds the subscriptions one connection may hold', async () => {
    const connection = open(await server.token(uniqueUserID('viewer')));
    const first = connection.subscribe(SUBSCRIPTION, { ids: [uniqueUserID()] });
    const second = connection.subscribe(SUBSCRIPTION, { ids: [uniqueUserID()] });
    const third = connection.subscribe(SUBSCRIPTION, { ids: [uniqueUserID()] });
    const errors = await waitFor('the third to be refused', () => third.errors());
    expect(errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'TOO_MANY_SUBSCRIPTIONS' });
    expect(first.errors()).toBeUndefined();
    expect(second.errors()).toBeUndefined();
  });

  it('masks no client error as internal: a wrong variable type is BAD_USER_INPUT, an unknown field fails validation', async () => {
    const connection = open(await server.token(uniqueUserID('viewer')));
    const wrongType = connection.subscribe(SUBSCRIPTION, { ids: null });
    await waitFor('the answer', () => (wrongType.results.length > 0 || wrongType.errors() ? true : undefined));
    expect((wrongType.results[0]?.errors ?? wrongType.errors())?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = connection.subscribe(`subscription { profileUpdated(userIDs: ["a"]) { nope } }`);
    const errors = await waitFor('the answer', () => unknown.errors());
    expect(errors[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('closes sockets with 1001 when the server stops', async () => {
    const own = await startTestServer();
    const connection = connect(own.url, await own.token(uniqueUserID('viewer')));
    const owner = uniqueUserID('owner');
    const live = connection.subscribe(SUBSCRIPTION, { ids: [owner] });
    await untilDelivering(
      'the subscription to deliver',
      (attempt) => own.request(SET_NICK, { as: owner, variables: { nick: `n ${attempt}` } }),
      () => live.results.length > 0,
    );
    await own.stop();
    const closed = await waitFor('the socket to close', () => connection.closed());
    expect(closed.code).toBe(1001);
    expect(live.errors()).toBeDefined();
    await connection.dispose();
  });
});

describe('profileUpdated: a token that expires', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ JWT_CLOCK_TOLERANCE_SECONDS: '0' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a token already expired at connection_init with 4403', async () => {
    const connection = connect(server.url, await server.token(uniqueUserID('viewer'), { expiresIn: -60 }));
    try {
      const live = connection.subscribe(SUBSCRIPTION, { ids: [uniqueUserID()] });
      const closed = await waitFor('the socket to close', () => connection.closed());
      expect(closed.code).toBe(4403);
      expect(connection.connectedAt()).toBeUndefined();
      expect(live.results).toEqual([]);
    } finally {
      await connection.dispose();
    }
  });

  it('closes an open connection with 4403 once its token expires, not before, and ends its subscription', async () => {
    const viewer = uniqueUserID('viewer');
    // The token must outlive the handshake; on a slow machine a longer one is tried. Only the
    // server's close event is waited for: no sleep has to be long enough.
    for (const lifetimeSeconds of [2, 4, 8, 16]) {
      const token = await server.token(viewer, { expiresIn: lifetimeSeconds });
      const expiresAt = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp * 1000;
      const connection = connect(server.url, token);
      try {
        const live = connection.subscribe(SUBSCRIPTION, { ids: [uniqueUserID('owner')] });
        await waitFor(
          'the connection to open or close',
          () => connection.connectedAt() ?? connection.closedAt() ?? undefined,
        );
        const connectedAt = connection.connectedAt();
        if (connectedAt === undefined || connectedAt >= expiresAt) continue;
        const closed = await waitFor('the socket to close', () => connection.closed(), lifetimeSeconds * 1000 + 10_000);
        expect(closed).toEqual({ code: 4403, reason: 'Token expired' });
        // Not before the expiry; a timer may fire a few milliseconds early by the wall clock.
        expect(connection.closedAt()).toBeGreaterThan(expiresAt - 100);
        await waitFor('the subscription to end', () => live.errors() ?? (live.completed() ? [] : undefined));
        expect(live.results).toEqual([]);
        return;
      } finally {
        await connection.dispose();
      }
    }
    throw new Error('no token outlived the connection handshake');
  });
});
