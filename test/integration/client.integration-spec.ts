import { WebSocket } from 'ws';
import {
  createProfileClient,
  ERROR_CODE,
  EVENT,
  ProfileClientError,
  TYPES,
  type ProfileClient,
} from '../../src/client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

function clientFor(userID: string, extra: { warnings?: string[] } = {}): ProfileClient {
  return createProfileClient({
    url: server.url,
    getToken: () => server.token(userID),
    logger: { warn: (message) => extra.warnings?.push(message) },
  });
}

async function rejection(promise: Promise<unknown>): Promise<ProfileClientError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProfileClientError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

test('getMyProfile resolves { data } with the familiar field names and constants', async () => {
  const userID = uniqueUserID('c');
  const { data } = await clientFor(userID).getMyProfile();
  expect(data).toEqual({
    userID,
    nick: '',
    gender: TYPES.GENDER_UNKNOWN,
    birthday: 0,
    location: '',
    selfSignature: '',
    allowType: TYPES.ALLOW_TYPE_NEED_CONFIRM,
    language: 0,
    avatar: '',
    messageSettings: 0,
    adminForbidType: TYPES.FORBID_TYPE_NONE,
    level: 0,
    role: 0,
    lastUpdatedTime: expect.any(Number),
    profileCustomField: [],
  });
});

test('updateMyProfile maps the constants both ways and returns the updated profile', async () => {
  const userID = uniqueUserID('c');
  const client = clientFor(userID);
  const { data } = await client.updateMyProfile({
    nick: 'Client',
    gender: TYPES.GENDER_MALE,
    allowType: TYPES.ALLOW_TYPE_DENY_ANY,
    birthday: 20010911,
    profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'v1' }],
  });
  expect(data).toMatchObject({
    userID,
    nick: 'Client',
    gender: 'Gender_Type_Male',
    allowType: 'AllowType_Type_DenyAny',
    birthday: 20010911,
    profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'v1' }],
  });
  // And the server stored the API's enum values.
  const raw = await server.request('{ me { gender allowType } }', { as: userID });
  expect(raw.data).toEqual({ me: { gender: 'MALE', allowType: 'DENY_ANY' } });
  expect((await client.getMyProfile()).data.gender).toBe(TYPES.GENDER_MALE);
});

test('every constant round-trips through the server', async () => {
  const client = clientFor(uniqueUserID('c'));
  for (const gender of [TYPES.GENDER_FEMALE, TYPES.GENDER_MALE, TYPES.GENDER_UNKNOWN]) {
    expect((await client.updateMyProfile({ gender })).data.gender).toBe(gender);
  }
  for (const allowType of [TYPES.ALLOW_TYPE_ALLOW_ANY, TYPES.ALLOW_TYPE_DENY_ANY, TYPES.ALLOW_TYPE_NEED_CONFIRM]) {
    expect((await client.updateMyProfile({ allowType })).data.allowType).toBe(allowType);
  }
  const admin = createProfileClient({
    url: server.url,
    getToken: () => server.token(uniqueUserID('c'), { admin: true }),
  });
  for (const adminForbidType of [TYPES.FORBID_TYPE_SEND_OUT, TYPES.FORBID_TYPE_NONE]) {
    expect((await admin.updateMyProfile({ adminForbidType })).data.adminForbidType).toBe(adminForbidType);
  }
});

test('getUserProfile resolves an array in the order asked, without unknown users', async () => {
  const [a, b] = [uniqueUserID('c'), uniqueUserID('c')];
  await clientFor(a).updateMyProfile({ nick: 'A' });
  await clientFor(b).updateMyProfile({ nick: 'B' });
  const { data } = await clientFor(uniqueUserID('c')).getUserProfile({ userIDList: [b, uniqueUserID('none'), a] });
  expect(data.map((p) => [p.userID, p.nick])).toEqual([
    [b, 'B'],
    [a, 'A'],
  ]);
});

test('getUserProfile with more than 100 IDs uses the first 100 and warns', async () => {
  const ids = Array.from({ length: 101 }, () => uniqueUserID('c'));
  await clientFor(ids[100]).updateMyProfile({ nick: 'last' });
  await clientFor(ids[99]).updateMyProfile({ nick: 'hundredth' });
  const warnings: string[] = [];
  const { data } = await clientFor(uniqueUserID('c'), { warnings }).getUserProfile({ userIDList: ids });
  expect(data.map((p) => p.nick)).toEqual(['hundredth']);
  expect(warnings).toEqual([expect.stringContaining('only the first 100')]);
});

test('a userIDList that is not an array is refused before any request', async () => {
  let requests = 0;
  const client = createProfileClient({
    url: server.url,
    getToken: () => server.token('x'),
    fetch: (...args) => {
      requests += 1;
      return fetch(...args);
    },
  });
  const error = await rejection(client.getUserProfile({ userIDList: 'alice' as unknown as string[] }));
  expect(error.code).toBe(ERROR_CODE.INVALID_PARAMETER);
  expect(requests).toBe(0);
});

describe('error codes', () => {
  test('nothing to update is 2722', async () => {
    const client = clientFor(uniqueUserID('c'));
    expect((await rejection(client.updateMyProfile({}))).code).toBe(2722);
  });

  test.each([
    ['an unknown key', { nickname: 'x' }],
    ['a null value', { nick: null }],
    ['a wrong type', { level: '3' }],
    ['a raw enum value', { gender: 'MALE' }],
    ['messageSettings 2', { messageSettings: 2 }],
    ['a custom field without the prefix', { profileCustomField: [{ key: 'Mood', value: 'x' }] }],
  ])('%s is 2721 before any request', async (_name, options) => {
    let requests = 0;
    const client = createProfileClient({
      url: server.url,
      getToken: () => server.token(uniqueUserID('c')),
      fetch: (...args) => {
        requests += 1;
        return fetch(...args);
      },
    });
    const error = await rejection(client.updateMyProfile(options as never));
    expect(error.code).toBe(ERROR_CODE.INVALID_PARAMETER);
    expect(requests).toBe(0);
  });

  test('server refusals keep their extensions and get the familiar codes', async () => {
    const client = clientFor(uniqueUserID('c'));
    const tooLong = await rejection(client.updateMyProfile({ nick: 'x'.repeat(501) }));
    expect(tooLong.code).toBe(ERROR_CODE.VALUE_TOO_LONG);
    expect(tooLong.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'nick', reason: 'TOO_LONG' });

    const unknownTag = await rejection(
      client.updateMyProfile({ profileCustomField: [{ key: 'Tag_Profile_Custom_Nope', value: 'x' }] }),
    );
    expect(unknownTag.code).toBe(ERROR_CODE.UNKNOWN_TAG);

    const badDate = await rejection(client.updateMyProfile({ birthday: 20230230 }));
    expect(badDate.code).toBe(ERROR_CODE.INVALID_VALUE);

    const forbidden = await rejection(client.updateMyProfile({ adminForbidType: TYPES.FORBID_TYPE_SEND_OUT }));
    expect(forbidden.code).toBe(ERROR_CODE.NO_WRITE_PERMISSION);
    expect(forbidden.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'adminForbidType' });
  });

  test('an invalid token that stays invalid rejects with the token code', async () => {
    const client = createProfileClient({ url: server.url, getToken: () => 'not-a-token' });
    const error = await rejection(client.getMyProfile());
    expect(error.code).toBe(ERROR_CODE.INVALID_TOKEN);
    expect(error.extensions.code).toBe('UNAUTHENTICATED');
  });

  test('an unreachable server is a network error', async () => {
    const client = createProfileClient({ url: 'http://127.0.0.1:9/graphql', getToken: () => 'x' });
    expect((await rejection(client.getMyProfile())).code).toBe(ERROR_CODE.NETWORK_ERROR);
  });
});

test('the token supplier is asked again after UNAUTHENTICATED, so an expired token is refreshed', async () => {
  const userID = uniqueUserID('c');
  const issued: string[] = [];
  const client = createProfileClient({
    url: server.url,
    getToken: async () => {
      // The first token expired well past the allowed clock skew; later calls hand out fresh ones.
      const token = await server.token(userID, { expiresIn: issued.length === 0 ? -600 : '1h' });
      issued.push(token);
      return token;
    },
  });
  const { data } = await client.getMyProfile();
  expect(data.userID).toBe(userID);
  expect(issued).toHaveLength(2);
});

describe('PROFILE_UPDATED', () => {
  async function until<T>(read: () => T | undefined, what: string): Promise<T> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = read();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  test('on() reports changes to the caller and watched users as arrays of profiles; off() stops it', async () => {
    const me = uniqueUserID('ev');
    const friend = uniqueUserID('ev');
    const friendClient = clientFor(friend);
    await friendClient.updateMyProfile({ nick: 'friend before' });
    const client = createProfileClient({
      url: server.url,
      getToken: () => server.token(me),
      webSocketImpl: WebSocket,
    });
    const events: Array<{ name: string; data: Array<{ userID: string; nick: string; gender: string }> }> = [];
    const handler = (event: (typeof events)[number]) => events.push(event);
    client.on(EVENT.PROFILE_UPDATED, handler);
    client.watchProfiles([friend]);
    await until(() => (server.app.services.profileEvents.hub.isWatching(friend) ? true : undefined), 'the watch');

    await client.updateMyProfile({ nick: 'me after', gender: TYPES.GENDER_FEMALE });
    await friendClient.updateMyProfile({ nick: 'friend after' });
    await until(() => (events.length >= 2 ? true : undefined), 'two events');
    const seen = events.flatMap((event) => event.data.map((profile) => [event.name, profile.userID, profile.nick]));
    expect(seen).toEqual(
      expect.arrayContaining([
        ['onProfileUpdated', me, 'me after'],
        ['onProfileUpdated', friend, 'friend after'],
      ]),
    );
    const mine = events.flatMap((event) => event.data).find((profile) => profile.userID === me);
    expect(mine?.gender).toBe(TYPES.GENDER_FEMALE);

    // A no-op update sends nothing; after off(), changes are no longer reported.
    const count = events.length;
    await client.updateMyProfile({ nick: 'me after' });
    client.off(EVENT.PROFILE_UPDATED, handler);
    await until(() => (server.app.services.profileEvents.hub.isWatching(friend) ? undefined : true), 'the unwatch');
    await friendClient.updateMyProfile({ nick: 'friend later' });
    // The marker proves the server delivered everything before: a fresh listener sees only it.
    const marker: string[] = [];
    const markerClient = createProfileClient({
      url: server.url,
      getToken: () => server.token(friend),
      webSocketImpl: WebSocket,
    });
    markerClient.on(EVENT.PROFILE_UPDATED, (event) => marker.push(...event.data.map((profile) => profile.nick)));
    await until(
      () => (server.app.services.profileEvents.hub.isWatching(friend) ? true : undefined),
      'the marker watch',
    );
    await friendClient.updateMyProfile({ nick: 'marker' });
    await until(() => (marker.includes('marker') ? true : undefined), 'the marker');
    expect(events.length).toBe(count);
    await client.close();
    await markerClient.close();
  });
});
