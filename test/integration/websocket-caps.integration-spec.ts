import { randomInt } from 'node:crypto';
import WebSocket from 'ws';
import type { RunningApp } from '../../src/app';
import { issueToken } from '../../src/auth/token-issuer';
import { startAppProcess, type AppProcess } from '../support/app-process';
import { startLoggedApp } from '../support/logged-app';
import { connect, waitFor, type WsConnection } from '../support/subscription-client';
import { TEST_JWT_SECRET, uniqueUserID } from '../support/test-server';

const uniqueAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
const token = (userID: string) => issueToken(TEST_JWT_SECRET, userID);
const WATCH = 'subscription($ids: [ID!]!) { profileUpdated(userIDs: $ids) { userID } }';

/** A bare WebSocket speaking graphql-transport-ws; resolves once open, or with the refusal's HTTP status. */
function rawSocket(url: string, address: string): Promise<{ socket?: WebSocket; status?: number }> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
    headers: { 'x-forwarded-for': address },
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode });
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

const closeOf = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );

describe('caps on the WebSocket transport', () => {
  let app: RunningApp;
  const opened: Array<WsConnection | WebSocket> = [];

  beforeAll(async () => {
    ({ app } = await startLoggedApp({
      TRUST_PROXY: 'true',
      WS_MAX_SOCKETS_PER_ADDRESS: '3',
      WS_MAX_SOCKETS_PER_USER: '2',
      SUBSCRIPTIONS_PER_CONNECTION: '3',
      SUBSCRIPTIONS_PER_USER: '3',
      WS_MAX_PAYLOAD_BYTES: '4096',
    }));
  });
  afterEach(async () => {
    for (const socket of opened.splice(0)) {
      if (socket instanceof WebSocket) socket.terminate();
      else await socket.dispose();
    }
  });
  afterAll(() => app.stop());

  it('refuses the upgrade past WS_MAX_SOCKETS_PER_ADDRESS with HTTP 429, and accepts again once one closes', async () => {
    const address = uniqueAddress();
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 3; i += 1) {
      const { socket } = await rawSocket(app.url, address);
      expect(socket).toBeDefined();
      sockets.push(socket!);
      opened.push(socket!);
    }
    expect(await rawSocket(app.url, address)).toEqual({ status: 429 });
    // Another address is not affected.
    const other = await rawSocket(app.url, uniqueAddress());
    expect(other.socket).toBeDefined();
    opened.push(other.socket!);

    const closed = closeOf(sockets[0]);
    sockets[0].close();
    await closed;
    const again = await waitFor('a socket accepted again', async () => {
      const attempt = await rawSocket(app.url, address);
      return attempt.socket;
    });
    opened.push(again);
  });

  it('closes a user’s socket past WS_MAX_SOCKETS_PER_USER with 1008 at connection_init', async () => {
    const userID = uniqueUserID('cap');
    for (let i = 0; i < 2; i += 1) {
      const socket = connect(app.url, await token(userID), { headers: { 'x-forwarded-for': uniqueAddress() } });
      opened.push(socket);
      expect((await socket.execute('{ me { userID } }')).data).toEqual({ me: { userID } });
    }
    const third = connect(app.url, await token(userID), { headers: { 'x-forwarded-for': uniqueAddress() } });
    opened.push(third);
    await expect(third.execute('{ me { userID } }')).rejects.toThrow(/socket closed/);
    expect(third.closed()).toMatchObject({ code: 1008 });
    // Another user is not affected.
    const other = connect(app.url, await token(uniqueUserID('cap')), {
      headers: { 'x-forwarded-for': uniqueAddress() },
    });
    opened.push(other);
    expect((await other.execute('{ me { __typename } }')).data).toEqual({ me: { __typename: 'User' } });
  });

  it('refuses a user’s operation past SUBSCRIPTIONS_PER_USER over all of their sockets, and frees the slot on unsubscribe', async () => {
    const userID = uniqueUserID('subs');
    const first = connect(app.url, await token(userID), { headers: { 'x-forwarded-for': uniqueAddress() } });
    const second = connect(app.url, await token(userID), { headers: { 'x-forwarded-for': uniqueAddress() } });
    opened.push(first, second);
    const me = '{ me { userID } }';
    const watched = { ids: [uniqueUserID()] };
    const a = first.subscribe(WATCH, watched);
    first.subscribe(WATCH, watched);
    // A socket handles its messages in order, so once this answers both subscriptions are held.
    expect((await first.execute(me)).data).toEqual({ me: { userID } });
    const c = second.subscribe(WATCH, watched);
    const refused = await second.execute(me);
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'TOO_MANY_SUBSCRIPTIONS' });
    expect(c.errors()).toBeUndefined();

    a.unsubscribe();
    await waitFor('the slot freed by unsubscribing', async () => {
      const result = await second.execute(me);
      return result.data?.me ?? undefined;
    });
  });

  it('closes a socket that sends a message over WS_MAX_PAYLOAD_BYTES with 1009', async () => {
    const { socket } = await rawSocket(app.url, uniqueAddress());
    opened.push(socket!);
    const closed = closeOf(socket!);
    socket!.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(5000) } }));
    expect((await closed).code).toBe(1009);
  });
});

describe('junk on an unauthenticated socket (production process)', () => {
  let server: AppProcess;
  beforeAll(async () => {
    server = await startAppProcess({ NODE_ENV: 'production' });
  });
  afterAll(() => server.stop());

  it('writes nothing but JSON lines to the log', async () => {
    for (const junk of ['x'.repeat(1024 * 1024), 'not json', JSON.stringify({ type: 'subscribe', id: '1' })]) {
      const { socket } = await rawSocket(server.url, '127.0.0.1');
      const closed = closeOf(socket!);
      socket!.send(junk);
      expect((await closed).code).toBeGreaterThanOrEqual(1000);
    }
    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});
