import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import {
  createProfileClient,
  ERROR_CODE,
  EVENT,
  TYPES,
  type ProfileClient,
  type UserStatus,
  type UserStatusUpdatedEvent,
} from '../../src/client';
import { connect, untilDelivering, waitFor, type WsConnection } from '../support/subscription-client';
import { countingClient, rejection } from '../support/profile-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

/** The client's online-status calls (setSelfStatus, getUserStatus, subscribeUserStatus, unsubscribeUserStatus). */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const clients: ProfileClient[] = [];
const sockets: WsConnection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
});

function clientFor(userID: string, extra: { warnings?: string[]; webSocketImpl?: unknown } = {}): ProfileClient {
  const client = createProfileClient({
    url: server.url,
    getToken: () => server.token(userID),
    webSocketImpl: extra.webSocketImpl ?? WebSocket,
    logger: { warn: (message) => extra.warnings?.push(message) },
  });
  clients.push(client);
  return client;
}

/** A graphql-ws connection for `userID`, which makes them ONLINE while it is open. */
async function online(userID: string): Promise<WsConnection> {
  const socket = connect(server.url, await server.token(userID));
  sockets.push(socket);
  await waitFor(`${userID} online`, async () => ((await statusOf(userID)) === 'ONLINE' ? true : undefined));
  return socket;
}

async function statusOf(userID: string): Promise<string> {
  const response = await server.request<{ userStatuses: Array<{ statusType: string }> }>(
    'query ($ids: [ID!]!) { userStatuses(ids: $ids) { statusType } }',
    { variables: { ids: [userID] }, as: userID },
  );
  return response.data!.userStatuses[0].statusType;
}

/** Every status a USER_STATUS_UPDATED handler receives, and the events themselves. */
function recorder() {
  const events: UserStatusUpdatedEvent[] = [];
  const handler = (event: UserStatusUpdatedEvent) => void events.push(event);
  const statuses = () => events.flatMap((event) => event.data);
  const seen = (match: (status: UserStatus) => boolean) => statuses().some(match);
  return { events, handler, statuses, seen };
}

test('the constants are those of the familiar SDK', () => {
  expect(TYPES).toMatchObject({
    USER_STATUS_UNKNOWN: 0,
    USER_STATUS_ONLINE: 1,
    USER_STATUS_OFFLINE: 2,
    USER_STATUS_UNLOGINED: 3,
  });
  expect(EVENT.USER_STATUS_UPDATED).toBe('onUserStatusUpdated');
  expect(Object.isFrozen(TYPES) && Object.isFrozen(EVENT)).toBe(true);
});

test('the built package and bundle export the new constants', async () => {
  const dist = path.resolve(__dirname, '..', '..', 'dist', 'client');
  if (!existsSync(path.join(dist, 'profile-client.mjs'))) {
    throw new Error(`${dist} has no profile-client.mjs: run \`npm run build\` first`);
  }
  const script = (load: string) =>
    `${load}.then(({ TYPES, EVENT }) => console.log(JSON.stringify({ ` +
    `statuses: [TYPES.USER_STATUS_UNKNOWN, TYPES.USER_STATUS_ONLINE, TYPES.USER_STATUS_OFFLINE, TYPES.USER_STATUS_UNLOGINED], ` +
    `event: EVENT.USER_STATUS_UPDATED })))`;
  const entries = [
    `import(${JSON.stringify(path.join(dist, 'profile-client.mjs'))})`,
    `import(${JSON.stringify(path.join(dist, 'index.js'))})`,
    `import(${JSON.stringify(path.join(dist, 'node.js'))})`,
    `Promise.resolve(require(${JSON.stringify(path.join(dist, 'cjs', 'index.js'))}))`,
  ];
  for (const entry of entries) {
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script(entry)]);
    expect({ entry, exported: JSON.parse(stdout) }).toEqual({
      entry,
      exported: { statuses: [0, 1, 2, 3], event: 'onUserStatusUpdated' },
    });
  }
});

describe('setSelfStatus', () => {
  test('resolves { code: 0, data: { userID, statusType, customStatus } }; "" clears it', async () => {
    const userID = uniqueUserID('st');
    const client = clientFor(userID);
    const result = await client.setSelfStatus({ customStatus: 'in a meeting' });
    // Over HTTP only, the caller never held a live connection.
    expect(result).toEqual({
      code: 0,
      data: { userID, statusType: TYPES.USER_STATUS_UNLOGINED, customStatus: 'in a meeting' },
    });
    const stored = await server.request('query ($ids: [ID!]!) { userStatuses(ids: $ids) { customStatus } }', {
      variables: { ids: [userID] },
      as: userID,
    });
    expect(stored.data).toEqual({ userStatuses: [{ customStatus: 'in a meeting' }] });

    await online(userID);
    expect((await client.setSelfStatus({ customStatus: '' })).data).toEqual({
      userID,
      statusType: TYPES.USER_STATUS_ONLINE,
      customStatus: '',
    });
  });

  test('100 UTF-8 bytes are accepted; 101 are 40601 and control characters 2721, from the server', async () => {
    const { client, requests } = countingClient(server, uniqueUserID('st'));
    expect((await client.setSelfStatus({ customStatus: 'é'.repeat(50) })).data.customStatus).toBe('é'.repeat(50));
    const tooLong = await rejection(client.setSelfStatus({ customStatus: `${'é'.repeat(50)}x` }));
    expect(tooLong.code).toBe(ERROR_CODE.VALUE_TOO_LONG);
    expect(tooLong.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'customStatus', reason: 'TOO_LONG' });
    const control = await rejection(client.setSelfStatus({ customStatus: 'a\u0007b' }));
    expect(control.code).toBe(ERROR_CODE.INVALID_PARAMETER);
    expect(control.extensions).toMatchObject({ field: 'customStatus', reason: 'INVALID_CHARACTERS' });
    expect(requests()).toBe(3);
  });

  test.each([
    ['no options', undefined],
    ['no customStatus', {}],
    ['a number', { customStatus: 3 }],
    ['null', { customStatus: null }],
  ])('%s is 2721 before any request', async (_name, options) => {
    const { client, requests } = countingClient(server);
    const error = await rejection(client.setSelfStatus(options as never));
    expect(error.code).toBe(ERROR_CODE.INVALID_PARAMETER);
    expect(requests()).toBe(0);
  });
});

describe('getUserStatus', () => {
  test('every status type as its number, in the order asked, each user once', async () => {
    const [onlineUser, offlineUser, unlogined, deleted, none] = ['on', 'off', 'unl', 'del', 'none'].map((prefix) =>
      uniqueUserID(prefix),
    );
    await online(onlineUser);
    await clientFor(onlineUser).setSelfStatus({ customStatus: 'here' });
    await (await online(offlineUser)).dispose();
    await waitFor('offline', async () => ((await statusOf(offlineUser)) === 'OFFLINE' ? true : undefined));
    await clientFor(unlogined).setSelfStatus({ customStatus: 'never connected' });
    await clientFor(deleted).setSelfStatus({ customStatus: 'gone soon' });
    expect((await clientFor(deleted).deleteMyAccount()).data.deleted).toBe(true);

    const result = await clientFor(uniqueUserID('st')).getUserStatus({
      userIDList: [none, onlineUser, offlineUser, unlogined, onlineUser, deleted],
    });
    expect(result).toEqual({
      code: 0,
      data: {
        successUserList: [
          { userID: none, statusType: TYPES.USER_STATUS_UNKNOWN, customStatus: '' },
          { userID: onlineUser, statusType: TYPES.USER_STATUS_ONLINE, customStatus: 'here' },
          { userID: offlineUser, statusType: TYPES.USER_STATUS_OFFLINE, customStatus: '' },
          { userID: unlogined, statusType: TYPES.USER_STATUS_UNLOGINED, customStatus: 'never connected' },
          { userID: deleted, statusType: TYPES.USER_STATUS_UNKNOWN, customStatus: '' },
        ],
        failureUserList: [],
      },
    });
  });

  test('more than 500 IDs: the first 500 are asked, with a warning', async () => {
    const ids = Array.from({ length: 501 }, () => uniqueUserID('many'));
    const warnings: string[] = [];
    const { data } = await clientFor(uniqueUserID('st'), { warnings }).getUserStatus({ userIDList: ids });
    expect(data.successUserList.map((status) => status.userID)).toEqual(ids.slice(0, 500));
    expect(warnings).toEqual(['getUserStatus: 501 user IDs given; only the first 500 are used']);
  });

  test.each([
    ['an empty list', { userIDList: [] }],
    ['a string', { userIDList: 'alice' }],
    ['a number in the list', { userIDList: ['alice', 7] }],
    ['no options', undefined],
  ])('%s is 2721 before any request', async (_name, options) => {
    const { client, requests } = countingClient(server);
    const error = await rejection(client.getUserStatus(options as never));
    expect(error.code).toBe(ERROR_CODE.INVALID_PARAMETER);
    expect(requests()).toBe(0);
  });

  test('an invalid ID refuses the whole call, as getUserProfile does, naming it', async () => {
    const client = clientFor(uniqueUserID('st'));
    for (const [invalid, code, reason] of [
      ['', ERROR_CODE.INVALID_VALUE, 'INVALID_VALUE'],
      ['x'.repeat(33), ERROR_CODE.VALUE_TOO_LONG, 'TOO_LONG'],
    ] as const) {
      const userIDList = [uniqueUserID('ok'), invalid];
      const status = await rejection(client.getUserStatus({ userIDList }));
      const profile = await rejection(client.getUserProfile({ userIDList }));
      expect(status.code).toBe(code);
      expect(status.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids[1]', reason });
      expect([profile.code, profile.extensions.field]).toEqual([code, 'ids[1]']);
    }
  });

  test('an invalid token is 70003', async () => {
    const client = createProfileClient({ url: server.url, getToken: () => 'not-a-token' });
    expect((await rejection(client.getUserStatus({ userIDList: ['a'] }))).code).toBe(ERROR_CODE.INVALID_TOKEN);
  });
});

describe('subscribeUserStatus and USER_STATUS_UPDATED', () => {
  test('changes of subscribed users arrive as { name, data: [status] }; off() stops them', async () => {
    const friend = uniqueUserID('fr');
    const friendClient = clientFor(friend);
    await friendClient.setSelfStatus({ customStatus: 'before' });
    const client = clientFor(uniqueUserID('me'));
    const { events, handler, seen } = recorder();
    client.on(EVENT.USER_STATUS_UPDATED, handler);
    expect(await client.subscribeUserStatus({ userIDList: [friend] })).toEqual({
      code: 0,
      data: { failureUserList: [] },
    });
    await untilDelivering(
      'the subscription',
      (attempt) => friendClient.setSelfStatus({ customStatus: `probe ${attempt}` }),
      () => seen((status) => status.customStatus.startsWith('probe')),
    );
    expect(events[0]).toEqual({
      name: 'onUserStatusUpdated',
      data: [
        { userID: friend, statusType: TYPES.USER_STATUS_UNLOGINED, customStatus: expect.stringMatching(/^probe/) },
      ],
    });

    // Connecting and disconnecting are changes too.
    const friendSocket = await online(friend);
    await waitFor('ONLINE', () =>
      seen((status) => status.statusType === TYPES.USER_STATUS_ONLINE) ? true : undefined,
    );
    await friendSocket.dispose();
    await waitFor('OFFLINE', () =>
      seen((status) => status.statusType === TYPES.USER_STATUS_OFFLINE) ? true : undefined,
    );
    expect(events.every((event) => event.data.length === 1 && event.data[0].userID === friend)).toBe(true);

    // After off(), the handler hears nothing; another handler, registered meanwhile, hears the change.
    client.off(EVENT.USER_STATUS_UPDATED, handler);
    const later = recorder();
    client.on(EVENT.USER_STATUS_UPDATED, later.handler);
    const count = events.length;
    await friendClient.setSelfStatus({ customStatus: 'after off' });
    await waitFor('the other handler', () =>
      later.seen((status) => status.customStatus === 'after off') ? true : undefined,
    );
    expect(events.length).toBe(count);
  });

  test('subscribing more users adds them; unsubscribing some, then everyone, stops their changes', async () => {
    const [a, b, marker] = [uniqueUserID('a'), uniqueUserID('b'), uniqueUserID('mk')];
    const [aClient, bClient, markerClient] = [clientFor(a), clientFor(b), clientFor(marker)];
    const client = clientFor(uniqueUserID('me'));
    const { handler, seen, statuses } = recorder();
    client.on(EVENT.USER_STATUS_UPDATED, handler);
    await client.subscribeUserStatus({ userIDList: [a] });
    await untilDelivering(
      'a',
      (attempt) => aClient.setSelfStatus({ customStatus: `a ${attempt}` }),
      () => seen((status) => status.userID === a),
    );
    await client.subscribeUserStatus({ userIDList: [b, a, marker] });
    await untilDelivering(
      'b',
      (attempt) => bClient.setSelfStatus({ customStatus: `b ${attempt}` }),
      () => seen((status) => status.userID === b),
    );
    await aClient.setSelfStatus({ customStatus: 'a still' });
    await waitFor('a still', () => (seen((status) => status.customStatus === 'a still') ? true : undefined));

    /**
     * After `unsubscribe`, `a` (and `b` when `bToo`) changes, then the marker until the marker's
     * change arrives: on the one connection, a change of theirs would have arrived before it.
     */
    async function unsubscribedAreSilent(label: string, unsubscribe: () => Promise<unknown>, bToo: boolean) {
      expect(await unsubscribe()).toEqual({ code: 0, data: { failureUserList: [] } });
      if (bToo) await client.subscribeUserStatus({ userIDList: [marker] });
      const before = statuses().length;
      await aClient.setSelfStatus({ customStatus: `a ${label}` });
      if (bToo) await bClient.setSelfStatus({ customStatus: `b ${label}` });
      await untilDelivering(
        `the marker (${label})`,
        (attempt) => markerClient.setSelfStatus({ customStatus: `marker ${label} ${attempt}` }),
        () => seen((status) => status.customStatus.startsWith(`marker ${label}`)),
      );
      const unsubscribed = bToo ? [a, b] : [a];
      expect(
        statuses()
          .slice(before)
          .filter((status) => unsubscribed.includes(status.userID)),
      ).toEqual([]);
    }

    await unsubscribedAreSilent('some', () => client.unsubscribeUserStatus({ userIDList: [a] }), false);
    // b is still subscribed.
    await bClient.setSelfStatus({ customStatus: 'b still' });
    await waitFor('b still', () => (seen((status) => status.customStatus === 'b still') ? true : undefined));

    await unsubscribedAreSilent('everyone', () => client.unsubscribeUserStatus(), true);
    await client.subscribeUserStatus({ userIDList: [a, b] });
    await unsubscribedAreSilent('empty list', () => client.unsubscribeUserStatus({ userIDList: [] }), true);
  });

  test('more than 100 IDs in one call: the first 100, with a warning; a later call adds more, beyond 100', async () => {
    const ids = Array.from({ length: 101 }, () => uniqueUserID('m'));
    const [hundredth, extra] = [ids[99], ids[100]];
    const [hundredthClient, extraClient] = [clientFor(hundredth), clientFor(extra)];
    const warnings: string[] = [];
    const client = clientFor(uniqueUserID('me'), { warnings });
    const { handler, seen } = recorder();
    client.on(EVENT.USER_STATUS_UPDATED, handler);
    await client.subscribeUserStatus({ userIDList: ids });
    expect(warnings).toEqual(['subscribeUserStatus: 101 user IDs given; only the first 100 are used']);
    await untilDelivering(
      'the hundredth',
      (attempt) => hundredthClient.setSelfStatus({ customStatus: `hundredth ${attempt}` }),
      () => seen((status) => status.userID === hundredth),
    );
    // On the one connection, a change of the 101st would arrive before the later one of the 100th.
    await extraClient.setSelfStatus({ customStatus: 'extra, not subscribed' });
    await hundredthClient.setSelfStatus({ customStatus: 'hundredth marker' });
    await waitFor('the marker', () =>
      seen((status) => status.customStatus === 'hundredth marker') ? true : undefined,
    );
    expect(seen((status) => status.userID === extra)).toBe(false);

    // The 101st user is watched by a second subscription; the first 100 still are.
    await client.subscribeUserStatus({ userIDList: [extra] });
    await untilDelivering(
      'the 101st',
      (attempt) => extraClient.setSelfStatus({ customStatus: `extra ${attempt}` }),
      () => seen((status) => status.userID === extra),
    );
    await hundredthClient.setSelfStatus({ customStatus: 'hundredth still' });
    await waitFor('the hundredth still', () =>
      seen((status) => status.customStatus === 'hundredth still') ? true : undefined,
    );
    expect(warnings).toHaveLength(1);
  });

  test('after a dropped connection the subscription is renewed, and only a change made meanwhile arrives', async () => {
    const opened: WebSocket[] = [];
    class TrackedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        opened.push(this);
      }
    }
    const me = uniqueUserID('me');
    const friend = uniqueUserID('fr');
    const unchanged = uniqueUserID('un');
    const friendClient = clientFor(friend);
    await clientFor(unchanged).setSelfStatus({ customStatus: 'as before' });
    const client = clientFor(me, { webSocketImpl: TrackedWebSocket });
    const { handler, seen } = recorder();
    client.on(EVENT.USER_STATUS_UPDATED, handler);
    await client.subscribeUserStatus({ userIDList: [friend, unchanged] });
    await untilDelivering(
      'the subscription',
      (attempt) => friendClient.setSelfStatus({ customStatus: `probe ${attempt}` }),
      () => seen((status) => status.customStatus.startsWith('probe')),
    );
    // The server recorded the connection (it writes connections that last 50 ms or more).
    await waitFor('me online', async () => ((await statusOf(me)) === 'ONLINE' ? true : undefined));
    const connections = opened.length;
    opened[opened.length - 1].terminate();
    // The server has seen the connection end (the caller is OFFLINE) before the change: the client
    // waits at least a second before reconnecting.
    await waitFor('me offline', async () => ((await statusOf(me)) === 'OFFLINE' ? true : undefined));
    await friendClient.setSelfStatus({ customStatus: 'changed while away' });
    await waitFor('a new connection', () => (opened.length > connections ? true : undefined));
    await waitFor('the change made while away', () =>
      seen((status) => status.customStatus === 'changed while away') ? true : undefined,
    );
    await untilDelivering(
      'changes after the reconnect',
      (attempt) => friendClient.setSelfStatus({ customStatus: `after ${attempt}` }),
      () => seen((status) => status.customStatus.startsWith('after')),
    );
    // The statuses read after reconnecting are told from those known: the unchanged user is not reported.
    expect(seen((status) => status.userID === unchanged)).toBe(false);
  });

  test('an invalid ID refuses the call and subscribes no one; the live subscription keeps working', async () => {
    const friend = uniqueUserID('fr');
    const other = uniqueUserID('ot');
    const [friendClient, otherClient] = [clientFor(friend), clientFor(other)];
    const client = clientFor(uniqueUserID('me'));
    const { handler, seen, statuses } = recorder();
    client.on(EVENT.USER_STATUS_UPDATED, handler);
    await client.subscribeUserStatus({ userIDList: [friend] });
    const refused = await rejection(client.subscribeUserStatus({ userIDList: [other, 'x'.repeat(33)] }));
    expect(refused.code).toBe(ERROR_CODE.VALUE_TOO_LONG);
    expect(refused.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids[1]', reason: 'TOO_LONG' });
    await otherClient.setSelfStatus({ customStatus: 'other, not subscribed' });
    await untilDelivering(
      'the friend',
      (attempt) => friendClient.setSelfStatus({ customStatus: `friend ${attempt}` }),
      () => seen((status) => status.userID === friend),
    );
    expect(statuses().filter((status) => status.userID !== friend)).toEqual([]);
  });

  test.each([
    [
      'subscribeUserStatus with an empty list',
      (client: ProfileClient) => client.subscribeUserStatus({ userIDList: [] }),
    ],
    [
      'subscribeUserStatus with a string',
      (client: ProfileClient) => client.subscribeUserStatus({ userIDList: 'a' as never }),
    ],
    [
      'unsubscribeUserStatus with a string',
      (client: ProfileClient) => client.unsubscribeUserStatus({ userIDList: 'a' as never }),
    ],
    [
      'unsubscribeUserStatus with a number in the list',
      (client: ProfileClient) => client.unsubscribeUserStatus({ userIDList: [1] as never }),
    ],
  ])('%s is 2721 before any request', async (_name, call) => {
    const { client, requests } = countingClient(server);
    clients.push(client);
    expect((await rejection(call(client))).code).toBe(ERROR_CODE.INVALID_PARAMETER);
    expect(requests()).toBe(0);
  });
});
