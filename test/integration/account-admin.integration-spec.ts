import { customValues, defineField, PROFILE_FIELDS, uniqueFieldKey } from '../support/custom-fields';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const IMPORT = `mutation ($accounts: [ImportAccountInput!]!) { importAccounts(accounts: $accounts) { ${PROFILE_FIELDS} } }`;
const CHECK = `query ($ids: [ID!]!) { checkAccounts(ids: $ids) { userID exists } }`;
const USER_PROFILE = `query ($id: ID!) { userProfile(userID: $id) { ${PROFILE_FIELDS} } }`;
const SET_PROFILE = `mutation ($id: ID!, $input: UpdateMyProfileInput!) {
  setUserProfile(userID: $id, input: $input) { ${PROFILE_FIELDS} } }`;
const UPDATE_MINE = `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { ${PROFILE_FIELDS} } }`;
const ME = `{ me { ${PROFILE_FIELDS} } }`;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

const asAdmin = (admin = uniqueUserID('admin')) => ({ as: admin, admin: true });

async function exists(ids: string[]): Promise<boolean[]> {
  const response = await server.request(CHECK, { ...asAdmin(), variables: { ids } });
  expect(response.errors).toBeUndefined();
  return response.data!.checkAccounts.map((check: { exists: boolean }) => check.exists);
}

interface AuditRow {
  actor_id: string;
  actor_is_admin: boolean;
  operation: string;
  subjects: string[];
  fields: string[];
  outcome: string;
  error_code: string | null;
  error_reason: string | null;
  occurred_at: Date;
}

async function auditOf(actorID: string): Promise<AuditRow[]> {
  const { rows } = await server.app.database.pool.query<AuditRow>(
    `SELECT actor_id, actor_is_admin, operation, subjects, fields, outcome, error_code, error_reason, occurred_at
     FROM admin_audit WHERE actor_id = $1 ORDER BY id`,
    [actorID],
  );
  return rows;
}

describe('importAccounts', () => {
  it('creates missing accounts and is idempotent: an existing account gets the given nick and avatar', async () => {
    const [a, b, c] = [uniqueUserID(), uniqueUserID(), uniqueUserID()];
    const first = await server.request(IMPORT, {
      ...asAdmin(),
      variables: { accounts: [{ userID: a, nick: 'Ann' }, { userID: b }] },
    });
    expect(first.errors).toBeUndefined();
    expect(first.data!.importAccounts.map((u: { userID: string; nick: string }) => [u.userID, u.nick])).toEqual([
      [a, 'Ann'],
      [b, ''],
    ]);
    expect(await exists([b, c, a])).toEqual([true, false, true]);

    // The same import again changes nothing, not even lastUpdatedTime.
    const repeat = await server.request(IMPORT, {
      ...asAdmin(),
      variables: { accounts: [{ userID: a, nick: 'Ann' }, { userID: b }] },
    });
    expect(repeat.data!.importAccounts).toEqual(first.data!.importAccounts);

    // An existing account (one that signed in and set fields) gets only the given values.
    const custom = uniqueFieldKey();
    await defineField(server, custom);
    await server.request(UPDATE_MINE, {
      as: c,
      variables: { input: { selfSignature: 'hi', profileCustomField: [{ key: custom, value: 'v' }] } },
    });
    const second = await server.request(IMPORT, {
      ...asAdmin(),
      variables: {
        accounts: [
          { userID: c, nick: 'Cid', avatar: 'https://example.com/c.png' },
          { userID: b, avatar: 'https://example.com/b.png' },
          { userID: a, nick: 'Anna' },
        ],
      },
    });
    expect(second.errors).toBeUndefined();
    const [cAfter, bAfter, aAfter] = second.data!.importAccounts;
    expect(cAfter).toMatchObject({ userID: c, nick: 'Cid', avatar: 'https://example.com/c.png' });
    expect(customValues(cAfter)).toEqual({ [custom]: 'v' });
    expect(bAfter).toMatchObject({ userID: b, nick: '', avatar: 'https://example.com/b.png' });
    expect(aAfter).toMatchObject({ userID: a, nick: 'Anna', avatar: '' });
    const cMe = await server.request(`{ me { nick selfSignature } }`, { as: c });
    expect(cMe.data!.me).toEqual({ nick: 'Cid', selfSignature: 'hi' });
  });

  it('takes 100 accounts and refuses 101 as BAD_USER_INPUT, creating none', async () => {
    const hundred = Array.from({ length: 100 }, () => ({ userID: uniqueUserID('bulk') }));
    const ok = await server.request(IMPORT, { ...asAdmin(), variables: { accounts: hundred } });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.importAccounts.map((u: { userID: string }) => u.userID)).toEqual(hundred.map((a) => a.userID));

    const tooMany = Array.from({ length: 101 }, () => ({ userID: uniqueUserID('bulk') }));
    const refused = await server.request(IMPORT, { ...asAdmin(), variables: { accounts: tooMany } });
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'accounts',
      reason: 'TOO_MANY',
    });
    expect(await exists(tooMany.slice(0, 100).map((a) => a.userID))).toEqual(Array(100).fill(false));
  });

  it.each([
    ['accounts[1].nick', 'TOO_LONG', { nick: 'n'.repeat(501) }],
    ['accounts[1].avatar', 'INVALID_VALUE', { avatar: 'not a url' }],
    ['accounts[1].nick', 'INVALID_CHARACTERS', { nick: 'a\u0000b' }],
    ['accounts[1].nick', 'NULL_NOT_ALLOWED', { nick: null }],
    ['accounts[1].userID', 'TOO_LONG', { userID: 'x'.repeat(33) }],
    ['accounts[1].userID', 'INVALID_VALUE', { userID: '' }],
  ])('refuses %s (%s) with the profile rules and imports nothing', async (field, reason, bad) => {
    const good = uniqueUserID();
    const response = await server.request(IMPORT, {
      ...asAdmin(),
      variables: {
        accounts: [
          { userID: good, nick: 'fine' },
          { userID: uniqueUserID(), ...bad },
        ],
      },
    });
    expect(response.data).toBeNull();
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field, reason });
    expect(await exists([good])).toEqual([false]);
  });

  it('refuses an account listed twice', async () => {
    const id = uniqueUserID();
    const response = await server.request(IMPORT, {
      ...asAdmin(),
      variables: { accounts: [{ userID: id }, { userID: id, nick: 'twice' }] },
    });
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'accounts[1].userID',
      reason: 'DUPLICATE_KEY',
    });
    expect(await exists([id])).toEqual([false]);
  });
});

describe('checkAccounts', () => {
  it('answers once per ID, in the order given, duplicates included', async () => {
    const known = uniqueUserID();
    await server.request(ME, { as: known });
    const missing = uniqueUserID();
    const response = await server.request(CHECK, { ...asAdmin(), variables: { ids: [missing, known, missing] } });
    expect(response.data!.checkAccounts).toEqual([
      { userID: missing, exists: false },
      { userID: known, exists: true },
      { userID: missing, exists: false },
    ]);
  });

  it('takes 100 IDs and refuses 101 or a malformed ID', async () => {
    const ids = Array.from({ length: 100 }, () => uniqueUserID());
    expect(await exists(ids)).toHaveLength(100);
    const tooMany = await server.request(CHECK, { ...asAdmin(), variables: { ids: [...ids, uniqueUserID()] } });
    expect(tooMany.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids', reason: 'TOO_MANY' });
    const malformed = await server.request(CHECK, { ...asAdmin(), variables: { ids: ['ok', 'x'.repeat(40)] } });
    expect(malformed.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'ids[1]',
      reason: 'TOO_LONG',
    });
  });
});

describe('userProfile and setUserProfile', () => {
  it('reads any profile with private fields, and null for no account', async () => {
    const privateField = uniqueFieldKey();
    await defineField(server, privateField, { read: 'PRIVATE' });
    const owner = uniqueUserID();
    await server.request(UPDATE_MINE, {
      as: owner,
      variables: { input: { nick: 'o', profileCustomField: [{ key: privateField, value: 'secret' }] } },
    });
    const read = await server.request(USER_PROFILE, { ...asAdmin(), variables: { id: owner } });
    expect(read.data!.userProfile).toMatchObject({ userID: owner, nick: 'o' });
    expect(customValues(read.data!.userProfile)).toEqual({ [privateField]: 'secret' });
    const none = await server.request(USER_PROFILE, { ...asAdmin(), variables: { id: uniqueUserID() } });
    expect(none.errors).toBeUndefined();
    expect(none.data!.userProfile).toBeNull();
  });

  it('applies the same input as updateMyProfile, adminForbidType included', async () => {
    const user = uniqueUserID();
    await server.request(ME, { as: user });
    const set = await server.request(SET_PROFILE, {
      ...asAdmin(),
      variables: { id: user, input: { nick: 'set by admin', adminForbidType: 'SEND_OUT' } },
    });
    expect(set.errors).toBeUndefined();
    expect(set.data!.setUserProfile).toMatchObject({ userID: user, nick: 'set by admin', adminForbidType: 'SEND_OUT' });
    const me = await server.request(ME, { as: user });
    expect(me.data!.me).toMatchObject({ nick: 'set by admin', adminForbidType: 'SEND_OUT' });
    // The user cannot undo it.
    const undo = await server.request(UPDATE_MINE, { as: user, variables: { input: { adminForbidType: 'NONE' } } });
    expect(undo.errors?.[0].extensions).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'ADMIN_ONLY',
      field: 'adminForbidType',
    });
  });

  it('refuses an account that does not exist with UNKNOWN_ACCOUNT and does not create it', async () => {
    const ghost = uniqueUserID();
    const response = await server.request(SET_PROFILE, {
      ...asAdmin(),
      variables: { id: ghost, input: { nick: 'x' } },
    });
    expect(response.data).toBeNull();
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'userID',
      reason: 'UNKNOWN_ACCOUNT',
    });
    expect(await exists([ghost])).toEqual([false]);
  });

  it('refuses bad input with the updateMyProfile rules and changes nothing', async () => {
    const user = uniqueUserID();
    await server.request(UPDATE_MINE, { as: user, variables: { input: { nick: 'before' } } });
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ nick: 'after', birthday: 20230230 }, 'birthday', 'INVALID_VALUE'],
      [{ nick: 'after', messageSettings: 2 }, 'messageSettings', 'INVALID_VALUE'],
      [{}, 'input', 'EMPTY_UPDATE'],
      [{ nick: null }, 'nick', 'NULL_NOT_ALLOWED'],
    ];
    for (const [input, field, reason] of cases) {
      const response = await server.request(SET_PROFILE, { ...asAdmin(), variables: { id: user, input } });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field, reason });
    }
    expect((await server.request(ME, { as: user })).data!.me.nick).toBe('before');
  });
});

describe('administrator operations refused to a plain user, and the audit trail', () => {
  const plainCalls: Array<[string, string, (ctx: { key: string; target: string }) => Record<string, unknown>]> = [
    [
      'profileCustomFieldDefinitions',
      `query { profileCustomFieldDefinitions(includeRetired: true) { key } }`,
      () => ({}),
    ],
    ['userProfile', USER_PROFILE, ({ target }) => ({ id: target })],
    ['checkAccounts', CHECK, ({ target }) => ({ ids: [target] })],
    [
      'defineProfileCustomField',
      `mutation ($key: String!) { defineProfileCustomField(input: { key: $key }) { key } }`,
      ({ key }) => ({ key }),
    ],
    [
      'retireProfileCustomField',
      `mutation ($key: String!) { retireProfileCustomField(key: $key) { key } }`,
      ({ key }) => ({ key }),
    ],
    [
      'restoreProfileCustomField',
      `mutation ($key: String!) { restoreProfileCustomField(key: $key) { key } }`,
      ({ key }) => ({ key }),
    ],
    ['importAccounts', IMPORT, ({ target }) => ({ accounts: [{ userID: `${target}_new`, nick: 'x' }] })],
    ['setUserProfile', SET_PROFILE, ({ target }) => ({ id: target, input: { nick: 'hijacked' } })],
  ];

  it('refuses every one with FORBIDDEN, changes nothing and records each attempt', async () => {
    const plain = uniqueUserID('plain');
    const target = uniqueUserID('target');
    await server.request(UPDATE_MINE, { as: target, variables: { input: { nick: 'target' } } });
    const key = uniqueFieldKey();
    for (const [operation, query, variables] of plainCalls) {
      const response = await server.request(query, { as: plain, variables: variables({ key, target }) });
      // A nullable root field (userProfile) comes back as null inside data; the others null data.
      const rootValues = response.data === null || response.data === undefined ? [] : Object.values(response.data);
      expect([operation, rootValues.every((value) => value === null)]).toEqual([operation, true]);
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });
      expect(response.errors?.[0].extensions?.stacktrace).toBeUndefined();
    }
    // Nothing changed.
    expect(await exists([`${target}_new`])).toEqual([false]);
    expect((await server.request(ME, { as: target })).data!.me.nick).toBe('target');
    const defined = await server.app.database.pool.query('SELECT 1 FROM profile_custom_field WHERE key = $1', [key]);
    expect(defined.rowCount).toBe(0);

    const audit = await auditOf(plain);
    expect(audit.map((row) => row.operation)).toEqual(plainCalls.map(([operation]) => operation));
    for (const row of audit) {
      expect(row).toMatchObject({
        actor_id: plain,
        actor_is_admin: false,
        outcome: 'FORBIDDEN',
        error_code: 'FORBIDDEN',
        error_reason: 'ADMIN_ONLY',
      });
      expect(row.occurred_at).toBeInstanceOf(Date);
    }
    expect(audit.find((row) => row.operation === 'setUserProfile')).toMatchObject({
      subjects: [target],
      fields: ['nick'],
    });
  });

  it('refuses them without a token as UNAUTHENTICATED', async () => {
    for (const [, query, variables] of plainCalls) {
      const response = await server.request(query, { variables: variables({ key: uniqueFieldKey(), target: 'x' }) });
      expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it("records an administrator's operations with what, which subjects and fields, and the outcome", async () => {
    const admin = uniqueUserID('auditor');
    const user = uniqueUserID();
    const key = uniqueFieldKey();
    await server.request(
      `mutation ($key: String!) { defineProfileCustomField(input: { key: $key, write: ADMIN }) { key } }`,
      {
        ...asAdmin(admin),
        variables: { key },
      },
    );
    await server.request(IMPORT, { ...asAdmin(admin), variables: { accounts: [{ userID: user, nick: 'n' }] } });
    await server.request(SET_PROFILE, {
      ...asAdmin(admin),
      variables: { id: user, input: { level: 3, profileCustomField: [{ key, value: 'v' }] } },
    });
    await server.request(SET_PROFILE, { ...asAdmin(admin), variables: { id: user, input: { birthday: 1 } } });

    const audit = await auditOf(admin);
    expect(
      audit.map(({ operation, subjects, fields, outcome, error_code, error_reason }) => ({
        operation,
        subjects,
        fields,
        outcome,
        error_code,
        error_reason,
      })),
    ).toEqual([
      {
        operation: 'defineProfileCustomField',
        subjects: [key],
        fields: ['write'],
        outcome: 'SUCCEEDED',
        error_code: null,
        error_reason: null,
      },
      {
        operation: 'importAccounts',
        subjects: [user],
        fields: ['nick'],
        outcome: 'SUCCEEDED',
        error_code: null,
        error_reason: null,
      },
      {
        operation: 'setUserProfile',
        subjects: [user],
        fields: ['level', key],
        outcome: 'SUCCEEDED',
        error_code: null,
        error_reason: null,
      },
      {
        operation: 'setUserProfile',
        subjects: [user],
        fields: ['birthday'],
        outcome: 'REJECTED',
        error_code: 'BAD_USER_INPUT',
        error_reason: 'INVALID_VALUE',
      },
    ]);
    expect(audit.every((row) => row.actor_is_admin)).toBe(true);
  });
});
