import { WebSocket } from 'ws';
import { createProfileClient, ERROR_CODE, EVENT, TYPES, type ProfileClient } from '../../src/client';
import { untilDelivering } from '../support/subscription-client';
import { countingClient, rejection } from '../support/profile-client';
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

test('getMyProfile resolves { code: 0, data } with the familiar field names and constants', async () => {
  const userID = uniqueUserID('c');
  const result = await clientFor(userID).getMyProfile();
  expect(Object.keys(result).sort()).toEqual(['code', 'data']);
  expect(result.code).toBe(0);
  expect(result.data).toEqual({
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
  const { code, data } = await client.updateMyProfile({
    nick: 'Client',
    gender: TYPES.GENDER_MALE,
    allowType: TYPES.ALLOW_TYPE_DENY_ANY,
    birthday: 20010911,
    profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'v1' }],
  });
  expect(code).toBe(0);
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
  const { code, data } = await clientFor(uniqueUserID('c')).getUserProfile({
    userIDList: [b, uniqueUserID('none'), a],
  });
  expect(code).toBe(0);
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
  const { client, requests } = countingClient(server);
  const error = await rejection(client.getUserProfile({ userIDList: 'alice' as unknown as string[] }));
  expect(error.code).toBe(ERROR_CODE.INVALID_PARAMETER);
  expect(requests()).toBe(0);
});

describe('error codes', () => {
  test('no fields at all is 2721, as in the familiar SDK, before any request', async () => {
    const { client, requests } = countingClient(server);
    expect((await rejection(client.updateMyProfile({}))).code).toBe(2721);
    expect(requests()).toBe(0);
  });

  test('only an empty profileCustomField is 2722 before any request', async () => {
    const { client, requests } = countingClient(server);
    const error = await rejection(client.updateMyProfile({ profileCustomField: [] }));
    expect(error.code).toBe(2722);
    expect(error.extensions).toMatchObject({ reason: 'EMPTY_UPDATE' });
    expect(requests()).toBe(0);
    // Beside another field it is sent, and the other field is applied.
    const { data } = await client.updateMyProfile({ nick: 'with none', profileCustomField: [] });
    expect(data.nick).toBe('with none');
    expect(requests()).toBe(1);
  });

  test.each([
    ['an unknown key', { nickname: 'x' }],
    ['a null value', { nick: null }],
    ['a wrong type', { level: '3' }],
    ['a raw enum value', { gender: 'MALE' }],
    ['messageSettings 2', { messageSettings: 2 }],
    ['messageSettings 0.5', { messageSettings: 0.5 }],
    ['messageSettings "1"', { messageSettings: '1' }],
    ['a custom field without the prefix', { profileCustomField: [{ key: 'Mood', value: 'x' }] }],
    ['a numeric string', { level: '3' }],
    ['NaN', { birthday: NaN }],
    ['Infinity', { role: Infinity }],
    ['-Infinity', { language: -Infinity }],
    ['a boolean for a number', { level: true }],
    // Names every object inherits are not constants, nor fields.
    ['gender "constructor"', { gender: 'constructor' }],
    ['gender "__proto__"', { gender: '__proto__' }],
    ['allowType "toString"', { allowType: 'toString' }],
    ['adminForbidType "hasOwnProperty"', { adminForbidType: 'hasOwnProperty' }],
    ['the key "constructor"', { constructor: 'x' }],
    ['the key "toString"', { toString: 'x' }],
    ['an own "__proto__" key', JSON.parse('{"__proto__": "x"}')],
  ])('%s is 2721 before any request', async (_name, options) => {
    const { client, requests } = countingClient(server);
    const error = await rejection(client.updateMyProfile(options as never));
    expect(error.code).toBe(ERROR_CODE.INVALID_PARAMETER);
    expect(requests()).toBe(0);
  });

  test.each([
    ['birthday', 1.5],
    ['level', 2.5],
    ['role', -1],
    ['language', 4294967296],
  ])('%s %p is sent, as in the familiar SDK, and refused by the server with 40605', async (field, value) => {
    const { client, requests } = countingClient(server);
    const error = await rejection(client.updateMyProfile({ [field]: value }));
    expect(error.code).toBe(ERROR_CODE.INVALID_VALUE);
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE' });
    expect(requests()).toBe(1);
  });

  test('server codes and reasons named like inherited properties are not mistaken for known ones', async () => {
    const answers = [
      { code: 'BAD_USER_INPUT', reason: 'constructor' },
      { code: 'toString', reason: '__proto__' },
      { code: 'hasOwnProperty' },
    ];
    const codes: number[] = [];
    for (const extensions of answers) {
      const client = createProfileClient({
        url: server.url,
        getToken: () => 'x',
        fetch: async () => Response.json({ data: null, errors: [{ message: 'refused', extensions }] }),
      });
      const error = await rejection(client.getMyProfile());
      expect(error.extensions).toEqual(extensions);
      codes.push(error.code);
    }
    expect(codes).toEqual([ERROR_CODE.INVALID_PARAMETER, ERROR_CODE.INTERNAL_ERROR, ERROR_CODE.INTERNAL_ERROR]);
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
    await untilDelivering(
      'the watch',
      (attempt) => friendClient.updateMyProfile({ nick: `friend probe ${attempt}` }),
      () => events.some((event) => event.data.some((profile) => profile.nick.startsWith('friend probe'))),
    );

    await client.updateMyProfile({ nick: 'me after', gender: TYPES.GENDER_FEMALE });
    await friendClient.updateMyProfile({ nick: 'friend after' });
    const seenNicks = () => events.flatMap((event) => event.data.map((profile) => profile.nick));
    await until(
      () => (seenNicks().includes('me after') && seenNicks().includes('friend after') ? true : undefined),
      'both changes',
    );
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
    await friendClient.updateMyProfile({ nick: 'friend later' });
    // The marker proves the server delivered everything before: a fresh listener sees only it.
    const marker: string[] = [];
    const markerClient = createProfileClient({
      url: server.url,
      getToken: () => server.token(friend),
      webSocketImpl: WebSocket,
    });
    markerClient.on(EVENT.PROFILE_UPDATED, (event) => marker.push(...event.data.map((profile) => profile.nick)));
    await untilDelivering(
      'the marker',
      (attempt) => friendClient.updateMyProfile({ nick: `marker ${attempt}` }),
      () => marker.some((nick) => nick.startsWith('marker ')),
    );
    expect(events.length).toBe(count);
    await client.close();
    await markerClient.close();
  });
});
