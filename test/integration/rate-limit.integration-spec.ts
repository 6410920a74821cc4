import { randomInt } from 'node:crypto';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const UPDATE = 'mutation($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }';

/** An address no other test uses, sent the way a gateway forwards it. */
const uniqueAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

describe('write rate limits shared by two instances through Postgres', () => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    // A day-long window: the counts cannot reset in the middle of a test.
    const env = {
      TRUST_PROXY: 'true',
      RATE_LIMIT_WINDOW_SECONDS: '86400',
      RATE_LIMIT_WRITES_PER_USER: '3',
      RATE_LIMIT_WRITES_PER_IP: '5',
    };
    [a, b] = await Promise.all([startTestServer(env), startTestServer(env)]);
  });
  afterAll(() => Promise.all([a.stop(), b.stop()]));

  it('counts a user’s writes on both instances and refuses the one over the limit with a retry hint', async () => {
    const userID = uniqueUserID('rl');
    const headers = { 'x-forwarded-for': uniqueAddress() };
    for (const [server, nick] of [
      [a, 'one'],
      [b, 'two'],
      [a, 'three'],
    ] as const) {
      const result = await server.request(UPDATE, { as: userID, headers, variables: { nick } });
      expect(result.errors).toBeUndefined();
      expect(result.data?.updateMyProfile.nick).toBe(nick);
    }

    const token = await b.token(userID);
    const response = await fetch(b.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify({ query: UPDATE, variables: { nick: 'four' } }),
    });
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86400);
    const body = (await response.json()) as { data?: unknown; errors: Array<{ extensions: Record<string, unknown> }> };
    expect(body.data ?? undefined).toBeUndefined();
    expect(body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'USER', retryAfter });
    expect(body.errors[0].extensions.http).toBeUndefined();

    // The refused write changed nothing, and reads are never limited.
    const me = await a.request('{ me { nick } }', { as: userID, headers });
    expect(me.errors).toBeUndefined();
    expect(me.data?.me.nick).toBe('three');

    // Another user is not affected by this user's limit.
    const other = await a.request(UPDATE, { as: uniqueUserID('rl'), headers, variables: { nick: 'x' } });
    expect(other.errors).toBeUndefined();
  });

  it('counts writes from one address across users and both instances', async () => {
    const headers = { 'x-forwarded-for': `203.0.113.9, ${uniqueAddress()}` };
    for (let i = 0; i < 5; i += 1) {
      const server = i % 2 === 0 ? a : b;
      const result = await server.request(UPDATE, { as: uniqueUserID('ip'), headers, variables: { nick: `n${i}` } });
      expect(result.errors).toBeUndefined();
    }
    const refused = await a.request(UPDATE, { as: uniqueUserID('ip'), headers, variables: { nick: 'n5' } });
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'IP' });
    expect(refused.errors?.[0].extensions?.retryAfter).toBeGreaterThan(0);

    // The same users from another address are fine: the address was limited, not the users.
    const elsewhere = await b.request(UPDATE, {
      as: uniqueUserID('ip'),
      headers: { 'x-forwarded-for': uniqueAddress() },
      variables: { nick: 'ok' },
    });
    expect(elsewhere.errors).toBeUndefined();
  });

  it('never limits reads', async () => {
    const userID = uniqueUserID('read');
    const headers = { 'x-forwarded-for': uniqueAddress() };
    for (let i = 0; i < 12; i += 1) {
      const result = await (i % 2 === 0 ? a : b).request('{ me { userID } }', { as: userID, headers });
      expect(result.errors).toBeUndefined();
    }
  });
});
