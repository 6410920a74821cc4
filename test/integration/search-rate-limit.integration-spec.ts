import { connect, type WsConnection } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const SEARCH = '{ searchUsers(input: { keywords: ["ratelimit"] }) { users { userID } } }';

let server: TestServer;
const sockets: WsConnection[] = [];

beforeAll(async () => {
  // A day-long window: the count cannot reset in the middle of a test.
  server = await startTestServer({ SEARCH_RATE_LIMIT_PER_USER: '3', SEARCH_RATE_LIMIT_WINDOW_SECONDS: '86400' });
});
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
});
afterAll(() => server.stop());

async function open(userID: string): Promise<WsConnection> {
  const socket = connect(server.url, await server.token(userID));
  sockets.push(socket);
  return socket;
}

describe('the search rate limit', () => {
  it('refuses the search over the limit over HTTP with 429, a retry hint and RATE_LIMITED', async () => {
    const userID = uniqueUserID('srl');
    for (let i = 0; i < 3; i += 1) {
      const result = await server.request(SEARCH, { as: userID });
      expect(result.errors).toBeUndefined();
    }
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await server.token(userID)}` },
      body: JSON.stringify({ query: SEARCH }),
    });
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86400);
    const body = (await response.json()) as { data?: unknown; errors: Array<{ extensions: Record<string, unknown> }> };
    expect(body.data ?? undefined).toBeUndefined();
    expect(body.errors[0].extensions).toEqual({ code: 'RATE_LIMITED', scope: 'USER', retryAfter });

    // Other operations of the same user, and other users' searches, are not limited by it.
    expect((await server.request('{ me { userID } }', { as: userID })).errors).toBeUndefined();
    expect((await server.request(SEARCH, { as: uniqueUserID('srl') })).errors).toBeUndefined();
  });

  it('counts every aliased or spread searchUsers field, and none that @skip leaves out', async () => {
    const userID = uniqueUserID('srl');
    const two = `query ($no: Boolean!) {
      a: searchUsers(input: { keywords: ["x"] }) { nextCursor }
      b: searchUsers(input: { keywords: ["y"] }) { nextCursor }
      c: searchUsers(input: { keywords: ["z"] }) @skip(if: $no) { nextCursor }
    }`;
    expect((await server.request(two, { as: userID, variables: { no: true } })).errors).toBeUndefined();
    const spread = `query { ...Found } fragment Found on Query { searchUsers(input: { keywords: ["x"] }) { nextCursor } }`;
    expect((await server.request(spread, { as: userID })).errors).toBeUndefined();
    const refused = await server.request(spread, { as: userID });
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'USER' });
    // Two more at once would pass the limit for a fresh user too: refused whole.
    const fresh = uniqueUserID('srl');
    expect((await server.request(SEARCH, { as: fresh })).errors).toBeUndefined();
    const both = await server.request(two, { as: fresh, variables: { no: false } });
    expect(both.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(both.data ?? undefined).toBeUndefined();
  });

  it('holds over a WebSocket too, counted with the same user’s HTTP searches', async () => {
    const userID = uniqueUserID('srl');
    const socket = await open(userID);
    expect((await socket.execute(SEARCH)).errors).toBeUndefined();
    expect((await server.request(SEARCH, { as: userID })).errors).toBeUndefined();
    expect((await socket.execute(SEARCH)).errors).toBeUndefined();
    const overSocket = await socket.execute(SEARCH);
    expect(overSocket.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'USER' });
    expect(overSocket.errors?.[0].extensions?.http).toBeUndefined();
    expect(overSocket.data ?? undefined).toBeUndefined();
    // The socket stays usable, and its other operations are not limited.
    expect((await socket.execute('{ me { userID } }')).data).toEqual({ me: { userID } });
    const other = await open(uniqueUserID('srl'));
    expect((await other.execute(SEARCH)).errors).toBeUndefined();
  });
});

describe('with the limit off', () => {
  it('lets a user search as often as they like (SEARCH_RATE_LIMIT_PER_USER=0)', async () => {
    const unlimited = await startTestServer({ SEARCH_RATE_LIMIT_PER_USER: '0' });
    try {
      const userID = uniqueUserID('srl');
      for (let i = 0; i < 15; i += 1) expect((await unlimited.request(SEARCH, { as: userID })).errors).toBeUndefined();
    } finally {
      await unlimited.stop();
    }
  });
});
