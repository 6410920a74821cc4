import { customValues, DEFINITION_FIELDS, defineField, PROFILE_FIELDS, uniqueFieldKey } from '../support/custom-fields';
import { createOwnDatabase } from '../support/db';
import { startTestServer, TEST_CUSTOM_FIELDS, uniqueUserID, type TestServer } from '../support/test-server';

const DEFINE = `mutation ($input: ProfileCustomFieldDefinitionInput!) {
  defineProfileCustomField(input: $input) { ${DEFINITION_FIELDS} } }`;
const RETIRE = `mutation ($key: String!) { retireProfileCustomField(key: $key) { ${DEFINITION_FIELDS} } }`;
const RESTORE = `mutation ($key: String!) { restoreProfileCustomField(key: $key) { ${DEFINITION_FIELDS} } }`;
const LIST = `query ($all: Boolean) { profileCustomFieldDefinitions(includeRetired: $all) { ${DEFINITION_FIELDS} } }`;
const ME = `{ me { ${PROFILE_FIELDS} } }`;
const USERS = `query ($ids: [ID!]!) { users(ids: $ids) { ${PROFILE_FIELDS} } }`;
const USER_PROFILE = `query ($id: ID!) { userProfile(userID: $id) { ${PROFILE_FIELDS} } }`;
const UPDATE_MINE = `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { ${PROFILE_FIELDS} } }`;
const SET_PROFILE = `mutation ($id: ID!, $input: UpdateMyProfileInput!) {
  setUserProfile(userID: $id, input: $input) { ${PROFILE_FIELDS} } }`;

const ADMIN = { as: 'registry_admin', admin: true } as const;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

const setCustom = (key: string, value: string) => ({ profileCustomField: [{ key, value }] });

describe('defineProfileCustomField', () => {
  it('creates a definition with the defaults and changes only the attributes given later', async () => {
    const key = uniqueFieldKey();
    const created = await server.request(DEFINE, { ...ADMIN, variables: { input: { key } } });
    expect(created.errors).toBeUndefined();
    expect(created.data!.defineProfileCustomField).toEqual({
      key,
      description: '',
      maxBytes: 500,
      read: 'PUBLIC',
      write: 'OWNER',
      retired: false,
    });

    const changed = await server.request(DEFINE, {
      ...ADMIN,
      variables: { input: { key, description: 'Favourite colour', read: 'PRIVATE' } },
    });
    expect(changed.data!.defineProfileCustomField).toEqual({
      key,
      description: 'Favourite colour',
      maxBytes: 500,
      read: 'PRIVATE',
      write: 'OWNER',
      retired: false,
    });

    const again = await server.request(DEFINE, {
      ...ADMIN,
      variables: { input: { key, maxBytes: 40, write: 'ADMIN' } },
    });
    expect(again.data!.defineProfileCustomField).toEqual({
      key,
      description: 'Favourite colour',
      maxBytes: 40,
      read: 'PRIVATE',
      write: 'ADMIN',
      retired: false,
    });
  });

  it.each([
    ['key', 'INVALID_VALUE', { key: 'Tag_Profile_Custom_' }],
    ['key', 'INVALID_VALUE', { key: 'Tag_Profile_Custom_1abc' }],
    ['key', 'INVALID_VALUE', { key: 'Tag_Profile_Custom_abcdefghi' }],
    ['key', 'INVALID_VALUE', { key: 'Tag_Profile_IM_Nick' }],
    ['maxBytes', 'INVALID_VALUE', { maxBytes: 0 }],
    ['maxBytes', 'INVALID_VALUE', { maxBytes: 501 }],
    ['description', 'TOO_LONG', { description: 'x'.repeat(501) }],
    ['description', 'INVALID_CHARACTERS', { description: 'bell\u0007' }],
    ['description', 'NULL_NOT_ALLOWED', { description: null }],
    ['read', 'NULL_NOT_ALLOWED', { read: null }],
  ])('refuses a bad %s with reason %s, creating nothing', async (field, reason, input) => {
    const key = uniqueFieldKey();
    const response = await server.request(DEFINE, { ...ADMIN, variables: { input: { key, ...input } } });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field, reason });
    const list = await server.request(LIST, { ...ADMIN, variables: { all: true } });
    const keys = list.data!.profileCustomFieldDefinitions.map((d: { key: string }) => d.key);
    expect(keys).not.toContain(key);
    expect(keys).not.toContain((input as { key?: string }).key);
  });

  it('refuses a misspelled enum value in variables as BAD_USER_INPUT', async () => {
    const response = await server.request(DEFINE, {
      ...ADMIN,
      variables: { input: { key: uniqueFieldKey(), read: 'SECRET' } },
    });
    expect(response.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('profileCustomFieldDefinitions', () => {
  it('lets any signed-in user list the fields in use, and only administrators the retired ones', async () => {
    const inUse = uniqueFieldKey();
    const retired = uniqueFieldKey();
    await defineField(server, inUse, { description: 'shown' });
    await defineField(server, retired);
    expect((await server.request(RETIRE, { ...ADMIN, variables: { key: retired } })).errors).toBeUndefined();

    const user = uniqueUserID();
    const plain = await server.request(LIST, { as: user });
    expect(plain.errors).toBeUndefined();
    const plainKeys = plain.data!.profileCustomFieldDefinitions.map((d: { key: string }) => d.key);
    expect(plainKeys).toEqual(expect.arrayContaining([inUse, ...TEST_CUSTOM_FIELDS]));
    expect(plainKeys).not.toContain(retired);
    expect([...plainKeys].sort()).toEqual(plainKeys);

    const refused = await server.request(LIST, { as: user, variables: { all: true } });
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });

    const all = await server.request(LIST, { ...ADMIN, variables: { all: true } });
    expect(all.data!.profileCustomFieldDefinitions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: inUse, retired: false, description: 'shown' }),
        expect.objectContaining({ key: retired, retired: true }),
      ]),
    );
  });

  it('needs a token', async () => {
    const response = await server.request(LIST);
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('permissions: every read/write combination, as owner, another user and administrator', () => {
  const combinations = [
    ['PUBLIC', 'OWNER'],
    ['PUBLIC', 'ADMIN'],
    ['PRIVATE', 'OWNER'],
    ['PRIVATE', 'ADMIN'],
  ] as const;

  it.each(combinations)('read %s, write %s', async (read, write) => {
    const key = uniqueFieldKey();
    await defineField(server, key, { read, write });
    const owner = uniqueUserID('owner');
    const other = uniqueUserID('other');
    const admin = uniqueUserID('admin');
    await server.request(ME, { as: owner });

    // The owner writes through updateMyProfile: allowed for OWNER fields only.
    const ownWrite = await server.request(UPDATE_MINE, {
      as: owner,
      variables: { input: { nick: 'owner nick', ...setCustom(key, 'by owner') } },
    });
    if (write === 'OWNER') {
      expect(ownWrite.errors).toBeUndefined();
      expect(customValues(ownWrite.data!.updateMyProfile)[key]).toBe('by owner');
    } else {
      expect(ownWrite.data).toBeNull();
      expect(ownWrite.errors?.[0].extensions).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'ADMIN_ONLY',
        field: 'profileCustomField[0].key',
      });
      // A refused update changes nothing, not even the allowed fields in it.
      const after = await server.request(ME, { as: owner });
      expect(after.data!.me.nick).toBe('');
      expect(customValues(after.data!.me)[key]).toBeUndefined();
    }

    // Another user has no way to write someone else's profile.
    const otherWrite = await server.request(SET_PROFILE, {
      as: other,
      variables: { id: owner, input: setCustom(key, 'by other') },
    });
    expect(otherWrite.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });

    // An administrator writes any user's field through setUserProfile, whatever its write permission.
    const adminWrite = await server.request(SET_PROFILE, {
      as: admin,
      admin: true,
      variables: { id: owner, input: setCustom(key, 'by admin') },
    });
    expect(adminWrite.errors).toBeUndefined();
    expect(customValues(adminWrite.data!.setUserProfile)[key]).toBe('by admin');

    // ... and their own through updateMyProfile.
    const adminOwn = await server.request(UPDATE_MINE, {
      as: admin,
      admin: true,
      variables: { input: setCustom(key, 'admin own') },
    });
    expect(adminOwn.errors).toBeUndefined();
    expect(customValues(adminOwn.data!.updateMyProfile)[key]).toBe('admin own');

    // Reads: the owner sees every field of their own, by me and by users(ids:).
    const ownerMe = await server.request(ME, { as: owner });
    expect(customValues(ownerMe.data!.me)[key]).toBe('by admin');
    const ownerUsers = await server.request(USERS, { as: owner, variables: { ids: [owner] } });
    expect(customValues(ownerUsers.data!.users[0])[key]).toBe('by admin');

    // Another user sees PUBLIC fields only.
    const otherUsers = await server.request(USERS, { as: other, variables: { ids: [owner, admin] } });
    expect(otherUsers.data!.users).toHaveLength(2);
    for (const user of otherUsers.data!.users) {
      expect(customValues(user)[key]).toBe(
        read === 'PUBLIC' ? (user.userID === owner ? 'by admin' : 'admin own') : undefined,
      );
    }

    // An administrator sees everything, wherever they read.
    const adminUsers = await server.request(USERS, { as: admin, admin: true, variables: { ids: [owner] } });
    expect(customValues(adminUsers.data!.users[0])[key]).toBe('by admin');
    const adminRead = await server.request(USER_PROFILE, { as: admin, admin: true, variables: { id: owner } });
    expect(customValues(adminRead.data!.userProfile)[key]).toBe('by admin');
  });

  it('lets an owner remove an OWNER field value with "" and refuses that for an ADMIN field', async () => {
    const ownerField = uniqueFieldKey();
    const adminField = uniqueFieldKey();
    await defineField(server, ownerField);
    await defineField(server, adminField, { write: 'ADMIN' });
    const owner = uniqueUserID();
    await server.request(ME, { as: owner });
    await server.request(SET_PROFILE, {
      ...ADMIN,
      variables: {
        id: owner,
        input: {
          profileCustomField: [
            { key: ownerField, value: 'a' },
            { key: adminField, value: 'b' },
          ],
        },
      },
    });
    const removeOwn = await server.request(UPDATE_MINE, { as: owner, variables: { input: setCustom(ownerField, '') } });
    expect(customValues(removeOwn.data!.updateMyProfile)).toEqual({ [adminField]: 'b' });
    const removeAdmin = await server.request(UPDATE_MINE, {
      as: owner,
      variables: { input: setCustom(adminField, '') },
    });
    expect(removeAdmin.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });
    expect(customValues((await server.request(ME, { as: owner })).data!.me)).toEqual({ [adminField]: 'b' });
  });

  it("enforces each definition's maxBytes in UTF-8 bytes, for owners and administrators", async () => {
    const key = uniqueFieldKey();
    await defineField(server, key, { maxBytes: 4 });
    const owner = uniqueUserID();
    const fits = await server.request(UPDATE_MINE, { as: owner, variables: { input: setCustom(key, 'éé') } });
    expect(customValues(fits.data!.updateMyProfile)[key]).toBe('éé');
    const tooLong = await server.request(UPDATE_MINE, { as: owner, variables: { input: setCustom(key, 'ééé') } });
    expect(tooLong.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'TOO_LONG',
      field: 'profileCustomField[0].value',
    });
    const adminTooLong = await server.request(SET_PROFILE, {
      ...ADMIN,
      variables: { id: owner, input: setCustom(key, 'abcde') },
    });
    expect(adminTooLong.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_LONG' });
    expect(customValues((await server.request(ME, { as: owner })).data!.me)[key]).toBe('éé');
  });

  it('refuses an undeclared key as UNKNOWN_CUSTOM_FIELD for owners and administrators', async () => {
    const owner = uniqueUserID();
    const key = uniqueFieldKey();
    const own = await server.request(UPDATE_MINE, { as: owner, variables: { input: setCustom(key, 'x') } });
    expect(own.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'UNKNOWN_CUSTOM_FIELD' });
    await server.request(ME, { as: owner });
    const admin = await server.request(SET_PROFILE, { ...ADMIN, variables: { id: owner, input: setCustom(key, 'x') } });
    expect(admin.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'UNKNOWN_CUSTOM_FIELD',
      field: 'profileCustomField[0].key',
    });
  });
});

describe('retire and restore', () => {
  it('hides values everywhere and refuses writes while retired; a restore brings the values back', async () => {
    const key = uniqueFieldKey();
    await defineField(server, key, { read: 'PUBLIC' });
    const owner = uniqueUserID();
    const other = uniqueUserID();
    await server.request(UPDATE_MINE, { as: owner, variables: { input: setCustom(key, 'kept') } });

    const retired = await server.request(RETIRE, { ...ADMIN, variables: { key } });
    expect(retired.data!.retireProfileCustomField).toMatchObject({ key, retired: true });
    // Retiring twice changes nothing.
    expect(
      (await server.request(RETIRE, { ...ADMIN, variables: { key } })).data!.retireProfileCustomField.retired,
    ).toBe(true);

    expect(customValues((await server.request(ME, { as: owner })).data!.me)[key]).toBeUndefined();
    const seenByOther = await server.request(USERS, { as: other, variables: { ids: [owner] } });
    expect(customValues(seenByOther.data!.users[0])[key]).toBeUndefined();
    const seenByAdmin = await server.request(USER_PROFILE, { ...ADMIN, variables: { id: owner } });
    expect(customValues(seenByAdmin.data!.userProfile)[key]).toBeUndefined();

    const ownWrite = await server.request(UPDATE_MINE, { as: owner, variables: { input: setCustom(key, 'new') } });
    expect(ownWrite.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'FIELD_RETIRED',
      field: 'profileCustomField[0].key',
    });
    const adminWrite = await server.request(SET_PROFILE, {
      ...ADMIN,
      variables: { id: owner, input: setCustom(key, '') },
    });
    expect(adminWrite.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'FIELD_RETIRED' });

    // Redefining a retired field changes its attributes and keeps it retired.
    const redefined = await server.request(DEFINE, { ...ADMIN, variables: { input: { key, description: 'later' } } });
    expect(redefined.data!.defineProfileCustomField).toMatchObject({ description: 'later', retired: true });

    const restored = await server.request(RESTORE, { ...ADMIN, variables: { key } });
    expect(restored.data!.restoreProfileCustomField).toMatchObject({ key, retired: false });
    expect(customValues((await server.request(ME, { as: owner })).data!.me)[key]).toBe('kept');
    const otherAgain = await server.request(USERS, { as: other, variables: { ids: [owner] } });
    expect(customValues(otherAgain.data!.users[0])[key]).toBe('kept');
  });

  it('refuses to retire or restore a key that is not defined', async () => {
    for (const mutation of [RETIRE, RESTORE]) {
      const response = await server.request(mutation, { ...ADMIN, variables: { key: uniqueFieldKey() } });
      expect(response.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'UNKNOWN_CUSTOM_FIELD',
        field: 'key',
      });
    }
    const malformed = await server.request(RETIRE, { ...ADMIN, variables: { key: 'nope' } });
    expect(malformed.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE' });
  });
});

describe('the cap on definitions', () => {
  it('refuses new definitions beyond the cap, counts retired ones, and never blocks a restore or a change', async () => {
    // Its own database: no other test defines fields there, so the cap is reached exactly.
    const database = await createOwnDatabase('profile_field_cap');
    const limit = TEST_CUSTOM_FIELDS.length + 3;
    const capped = await startTestServer({
      DATABASE_URL: database.url,
      DB_MIGRATE: 'true',
      PROFILE_CUSTOM_FIELD_LIMIT: String(limit),
    });
    const count = async () =>
      (await capped.app.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM profile_custom_field'))
        .rows[0].n;
    try {
      expect(await count()).toBe(TEST_CUSTOM_FIELDS.length);
      const define = (key: string, input: Record<string, unknown> = {}) =>
        capped.request(DEFINE, { ...ADMIN, variables: { input: { key, ...input } } });
      const ours = [uniqueFieldKey(), uniqueFieldKey(), uniqueFieldKey()];
      for (const key of ours) expect((await define(key)).errors).toBeUndefined();
      expect(await count()).toBe(limit);

      const refusedKey = uniqueFieldKey();
      const refused = await define(refusedKey);
      expect(refused.data).toBeNull();
      expect(refused.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'LIMIT_REACHED',
        field: 'key',
      });
      expect(await count()).toBe(limit);
      const stored = await capped.app.database.pool.query('SELECT 1 FROM profile_custom_field WHERE key = $1', [
        refusedKey,
      ]);
      expect(stored.rowCount).toBe(0);

      // Retiring does not free a slot.
      expect((await capped.request(RETIRE, { ...ADMIN, variables: { key: ours[0] } })).errors).toBeUndefined();
      const stillFull = await define(uniqueFieldKey());
      expect(stillFull.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'LIMIT_REACHED' });

      // A restore and a change of an existing definition succeed at the cap.
      const restored = await capped.request(RESTORE, { ...ADMIN, variables: { key: ours[0] } });
      expect(restored.data!.restoreProfileCustomField.retired).toBe(false);
      const changed = await define(ours[0], { description: 'changed at the cap' });
      expect(changed.data!.defineProfileCustomField.description).toBe('changed at the cap');
      expect(await count()).toBe(limit);
    } finally {
      await capped.stop();
      await database.drop();
    }
  });
});
