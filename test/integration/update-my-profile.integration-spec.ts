import type { Pool } from 'pg';
import { createSqlRunner } from '../../src/db/sql-runner';
import { UserProfileRepository } from '../../src/user/user.repository';
import { openTestPool, storedProfile } from '../support/db';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

let server: TestServer;
let pool: Pool;
beforeAll(async () => {
  server = await startTestServer();
  // Statements are counted on the server's pool: only requests may send any.
  await server.stopBackgroundWork();
  pool = openTestPool();
});
afterAll(async () => {
  await server.stop();
  await pool.end();
});

const UPDATE = `mutation ($input: UpdateMyProfileInput!) {
  updateMyProfile(input: $input) {
    userID nick avatar gender selfSignature allowType birthday location language messageSettings
    adminForbidType level role profileCustomField { key value } lastUpdatedTime
  }
}`;

function update(userID: string, input: Record<string, unknown>) {
  return server.request(UPDATE, { as: userID, variables: { input } });
}

async function newUser(input: Record<string, unknown> = { nick: 'start' }): Promise<string> {
  const userID = uniqueUserID();
  const response = await update(userID, input);
  expect(response.errors).toBeUndefined();
  return userID;
}

test('sets every standard field and returns the updated profile', async () => {
  const userID = uniqueUserID();
  const input = {
    nick: 'Ünïcødé 好',
    avatar: 'https://cdn.example.com/a.png',
    gender: 'FEMALE',
    selfSignature: 'first line\nsecond\tline',
    allowType: 'ALLOW_ANY',
    birthday: 19900415,
    location: 'Berlin',
    language: 4294967295,
    messageSettings: 1,
    level: 3,
    role: 12,
  };
  const response = await update(userID, input);
  expect(response.errors).toBeUndefined();
  expect(response.data!.updateMyProfile).toMatchObject({
    userID,
    ...input,
    adminForbidType: 'NONE',
    profileCustomField: [],
  });
  const row = await storedProfile(pool, userID);
  expect(row).toMatchObject({ nick: input.nick, self_signature: input.selfSignature, language: '4294967295' });
});

test('a partial update leaves absent fields alone', async () => {
  const userID = await newUser({ nick: 'Kay', location: 'Oslo', level: 5 });
  const response = await update(userID, { location: 'Rome' });
  expect(response.data!.updateMyProfile).toMatchObject({ nick: 'Kay', location: 'Rome', level: 5 });
});

test('"" and 0 clear fields', async () => {
  const userID = await newUser({ nick: 'Kay', level: 5, avatar: 'http://example.com/x.png' });
  const response = await update(userID, { nick: '', level: 0, avatar: '' });
  expect(response.data!.updateMyProfile).toMatchObject({ nick: '', level: 0, avatar: '' });
});

describe('refused inputs name the field, give a reason, and change nothing', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['nick over 500 bytes', { nick: 'é'.repeat(250) + 'x' }, { field: 'nick', reason: 'TOO_LONG' }],
    [
      'selfSignature over 500 bytes',
      { selfSignature: 'x'.repeat(501) },
      { field: 'selfSignature', reason: 'TOO_LONG' },
    ],
    ['location over 16 bytes', { location: 'x'.repeat(17) }, { field: 'location', reason: 'TOO_LONG' }],
    ['avatar that is no URL', { avatar: 'not a url' }, { field: 'avatar', reason: 'INVALID_VALUE' }],
    ['impossible birthday', { birthday: 20230230 }, { field: 'birthday', reason: 'INVALID_VALUE' }],
    ['messageSettings 2', { messageSettings: 2 }, { field: 'messageSettings', reason: 'INVALID_VALUE' }],
    ['a NUL byte', { nick: 'a\u0000b' }, { field: 'nick', reason: 'INVALID_CHARACTERS' }],
    ['a lone surrogate', { nick: 'a\ud800b' }, { field: 'nick', reason: 'INVALID_CHARACTERS' }],
    ['explicit null', { nick: null }, { field: 'nick', reason: 'NULL_NOT_ALLOWED' }],
    ['level past UInt32', { level: 4294967296 }, { field: 'level', reason: 'INVALID_VALUE' }],
    ['negative language', { language: -1 }, { field: 'language', reason: 'INVALID_VALUE' }],
    ['fractional role', { role: 1.5 }, { field: 'role', reason: 'INVALID_VALUE' }],
    [
      'an undeclared custom field',
      { profileCustomField: [{ key: 'Tag_Profile_Custom_Nope', value: 'x' }] },
      { field: 'profileCustomField[0].key', reason: 'UNKNOWN_CUSTOM_FIELD' },
    ],
    [
      'a custom value over 500 bytes',
      { profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'x'.repeat(501) }] },
      { field: 'profileCustomField[0].value', reason: 'TOO_LONG' },
    ],
  ];

  test.each(cases)('%s', async (_name, bad, expected) => {
    const userID = await newUser({ nick: 'Before', level: 1 });
    const before = await storedProfile(pool, userID);
    const response = await update(userID, { level: 2, ...bad });
    expect(response.data ?? null).toBeNull();
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', ...expected });
    expect(response.errors![0].extensions).not.toHaveProperty('stacktrace');
    expect(await storedProfile(pool, userID)).toEqual(before);
  });

  test('a bad field among good ones changes nothing (atomic rejection)', async () => {
    const userID = await newUser({
      nick: 'Before',
      profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'keep' }],
    });
    const before = await storedProfile(pool, userID);
    const response = await update(userID, {
      nick: 'After',
      gender: 'MALE',
      profileCustomField: [
        { key: 'Tag_Profile_Custom_Test1', value: 'changed' },
        { key: 'Tag_Profile_Custom_Test2', value: 'x'.repeat(501) },
      ],
    });
    expect(response.errors?.[0].extensions).toMatchObject({ field: 'profileCustomField[1].value', reason: 'TOO_LONG' });
    expect(await storedProfile(pool, userID)).toEqual(before);
  });

  test('an empty input is refused', async () => {
    const userID = await newUser();
    const response = await update(userID, {});
    expect(response.data ?? null).toBeNull();
    expect(response.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input', reason: 'EMPTY_UPDATE' });
  });

  test('the same custom key twice is refused', async () => {
    const userID = await newUser();
    const response = await update(userID, {
      profileCustomField: [
        { key: 'Tag_Profile_Custom_Test1', value: 'a' },
        { key: 'Tag_Profile_Custom_Test1', value: 'b' },
      ],
    });
    expect(response.errors?.[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'profileCustomField[1].key',
      reason: 'DUPLICATE_KEY',
    });
  });

  test('a wrong enum value is refused by the schema, naming the field', async () => {
    const userID = await newUser();
    const response = await update(userID, { gender: 'Gender_Type_Male' });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'gender' });
  });

  test('the first refused account write does not create the account', async () => {
    const userID = uniqueUserID();
    const response = await update(userID, { nick: 'x'.repeat(501) });
    expect(response.errors?.[0].extensions?.reason).toBe('TOO_LONG');
    expect(await storedProfile(pool, userID)).toBeUndefined();
  });
});

describe('limits at their edge are accepted', () => {
  test.each([
    ['nick', 'é'.repeat(250)],
    ['selfSignature', 'x'.repeat(500)],
    ['location', '好好好好好x'],
    ['avatar', `https://example.com/${'a'.repeat(480)}`],
  ])('%s', async (field, value) => {
    const userID = await newUser();
    const response = await update(userID, { [field]: value });
    expect(response.errors).toBeUndefined();
    expect(response.data!.updateMyProfile[field]).toBe(value);
  });

  test('UInt32 bounds and a custom value of 500 bytes', async () => {
    const userID = await newUser();
    const response = await update(userID, {
      language: 4294967295,
      level: 0,
      birthday: 99991231,
      profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: '好'.repeat(166) + 'xy' }],
    });
    expect(response.errors).toBeUndefined();
    expect(response.data!.updateMyProfile).toMatchObject({ language: 4294967295, level: 0, birthday: 99991231 });
  });
});

describe('custom fields', () => {
  test('merge by key, and "" removes a field', async () => {
    const userID = await newUser({
      profileCustomField: [
        { key: 'Tag_Profile_Custom_Test1', value: 'one' },
        { key: 'Tag_Profile_Custom_Test2', value: 'two' },
      ],
    });
    let response = await update(userID, { profileCustomField: [{ key: 'Tag_Profile_Custom_Mood', value: 'happy' }] });
    expect(response.data!.updateMyProfile.profileCustomField).toEqual([
      { key: 'Tag_Profile_Custom_Mood', value: 'happy' },
      { key: 'Tag_Profile_Custom_Test1', value: 'one' },
      { key: 'Tag_Profile_Custom_Test2', value: 'two' },
    ]);
    response = await update(userID, {
      profileCustomField: [
        { key: 'Tag_Profile_Custom_Test1', value: '' },
        { key: 'Tag_Profile_Custom_Test2', value: 'TWO' },
      ],
    });
    expect(response.data!.updateMyProfile.profileCustomField).toEqual([
      { key: 'Tag_Profile_Custom_Mood', value: 'happy' },
      { key: 'Tag_Profile_Custom_Test2', value: 'TWO' },
    ]);
    expect((await storedProfile(pool, userID))!.custom_fields).toEqual({
      Tag_Profile_Custom_Mood: 'happy',
      Tag_Profile_Custom_Test2: 'TWO',
    });
  });

  test('removing a field that has no value is a no-op', async () => {
    const userID = await newUser();
    const before = await storedProfile(pool, userID);
    const response = await update(userID, { profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: '' }] });
    expect(response.errors).toBeUndefined();
    expect(await storedProfile(pool, userID)).toEqual(before);
  });
});

describe('no-op updates', () => {
  test('setting the current values changes nothing, lastUpdatedTime included', async () => {
    const userID = await newUser({
      nick: 'Same',
      level: 4,
      gender: 'MALE',
      profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'v' }],
    });
    const before = await storedProfile(pool, userID);
    const xmin = 'SELECT xmin::text FROM user_profile WHERE user_id = $1';
    const { rows: versionBefore } = await pool.query(xmin, [userID]);
    const response = await update(userID, {
      nick: 'Same',
      level: 4,
      gender: 'MALE',
      profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'v' }],
    });
    expect(response.errors).toBeUndefined();
    expect(response.data!.updateMyProfile.lastUpdatedTime).toBe(before!.last_updated_time.toISOString());
    const after = await storedProfile(pool, userID);
    expect(after).toEqual(before);
    // Not even a new row version was written.
    expect((await pool.query(xmin, [userID])).rows).toEqual(versionBefore);
  });

  test('a real change moves lastUpdatedTime forward', async () => {
    const userID = await newUser({ nick: 'One' });
    const before = await storedProfile(pool, userID);
    const response = await update(userID, { nick: 'Two' });
    expect(Date.parse(response.data!.updateMyProfile.lastUpdatedTime)).toBeGreaterThan(
      before!.last_updated_time.getTime(),
    );
  });
});

test('concurrent updates of different fields of one user lose nothing', async () => {
  const userID = await newUser({ nick: 'start' });
  const writes: Array<Record<string, unknown>> = [
    { nick: 'N' },
    { avatar: 'https://example.com/p.png' },
    { gender: 'FEMALE' },
    { selfSignature: 'S' },
    { allowType: 'DENY_ANY' },
    { birthday: 20000101 },
    { location: 'L' },
    { language: 9 },
    { messageSettings: 1 },
    { level: 10 },
    { role: 11 },
  ];
  const customKeys = ['Tag_Profile_Custom_Test1', 'Tag_Profile_Custom_Test2', 'Tag_Profile_Custom_Mood'];
  for (const key of customKeys) writes.push({ profileCustomField: [{ key, value: key.slice(-4) }] });
  // Each write is sent several times at once, all writes interleaved.
  const requests = [];
  for (let round = 0; round < 4; round += 1) for (const input of writes) requests.push(update(userID, input));
  const responses = await Promise.all(requests);
  for (const response of responses) expect(response.errors).toBeUndefined();

  const me = await server.request(
    '{ me { nick avatar gender selfSignature allowType birthday location language messageSettings level role profileCustomField { key value } } }',
    {
      as: userID,
    },
  );
  expect(me.data!.me).toEqual({
    nick: 'N',
    avatar: 'https://example.com/p.png',
    gender: 'FEMALE',
    selfSignature: 'S',
    allowType: 'DENY_ANY',
    birthday: 20000101,
    location: 'L',
    language: 9,
    messageSettings: 1,
    level: 10,
    role: 11,
    profileCustomField: [
      { key: 'Tag_Profile_Custom_Mood', value: 'Mood' },
      { key: 'Tag_Profile_Custom_Test1', value: 'est1' },
      { key: 'Tag_Profile_Custom_Test2', value: 'est2' },
    ],
  });
});

test('an update writes in one SQL statement', async () => {
  const userID = await newUser();
  const before = server.statements();
  await update(userID, {
    nick: 'one statement',
    profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'x' }],
  });
  expect(server.statements() - before).toBe(1);
});

test('patches of one shape share a statement whatever order their fields were given in', async () => {
  // The statement text is kept per shape (which fields a patch holds); its parameters must follow
  // the fields' declared order, not the order the patch object happens to list them in.
  const repository = new UserProfileRepository(createSqlRunner(server.app.database.pool), {
    relayOwner: 'nobody',
    webhookPending: false,
  });
  const userID = await newUser();
  const patch = (standard: Record<string, unknown>) => ({ standard, customSet: {}, customRemove: [] });
  await repository.applyPatch(userID, patch({ nick: 'first nick', location: 'Lyon' }), userID);
  const result = await repository.applyPatch(userID, patch({ location: 'Oslo', nick: 'second nick' }), userID);
  expect(result?.profile).toMatchObject({ userID, nick: 'second nick', location: 'Oslo' });
  expect(await storedProfile(pool, userID)).toMatchObject({ nick: 'second nick', location: 'Oslo' });
});
