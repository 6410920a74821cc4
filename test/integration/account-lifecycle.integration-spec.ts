import { issueToken } from '../../src/auth/token-issuer';
import { defineField, uniqueFieldKey } from '../support/custom-fields';
import { connect, untilDelivering, waitFor, type WsConnection } from '../support/subscription-client';
import { startTestServer, TEST_JWT_SECRET, uniqueUserID, type TestServer } from '../support/test-server';

const USER = 'userID nick selfSignature accountStatus lastUpdatedTime profileCustomField { key value }';
const ME = `{ me { ${USER} } }`;
const USERS = `query ($ids: [ID!]!) { users(ids: $ids) { userID } }`;
const UPDATE = `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { ${USER} } }`;
const CHECK = `query ($ids: [ID!]!) { checkAccounts(ids: $ids) { userID exists deactivated } }`;
const DEACTIVATE = `mutation ($ids: [ID!]!) { deactivateAccounts(ids: $ids) { userID exists deactivated } }`;
const REACTIVATE = `mutation ($ids: [ID!]!) { reactivateAccounts(ids: $ids) { userID exists deactivated } }`;
const DELETE = `mutation ($ids: [ID!]!) { deleteAccounts(ids: $ids) { userID deleted } }`;
const DELETE_MINE = `mutation { deleteMyAccount }`;
const EXPORT = `{ exportMyData { exportedAt profile { ${USER} } storedCustomFields { key value }
  history { eventID eventType eventTime operator changes { field value } } } }`;
const ENTITIES = `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { userID nick } } }`;
const USER_PROFILE = `query ($id: ID!) { userProfile(userID: $id) { ${USER} } }`;
const IMPORT = `mutation ($accounts: [ImportAccountInput!]!) { importAccounts(accounts: $accounts) { userID nick } }`;
const WATCH = `subscription ($ids: [ID!]!) { profileUpdated(userIDs: $ids) { userID nick accountStatus lastUpdatedTime } }`;

let server: TestServer;
const sockets: WsConnection[] = [];
const admin = uniqueUserID('admin');
const asAdmin = { as: admin, admin: true };

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await server.stop();
});

function socket(token: string): WsConnection {
  const connection = connect(server.url, token);
  sockets.push(connection);
  return connection;
}

async function auditOf(operation: string, subject: string) {
  const { rows } = await server.app.database.pool.query<{
    actor_id: string;
    outcome: string;
    error_reason: string | null;
  }>(
    `SELECT actor_id, outcome::text AS outcome, error_reason FROM admin_audit
     WHERE operation = $1 AND $2 = ANY(subjects) ORDER BY id`,
    [operation, subject],
  );
  return rows;
}

/** A user with a nick and a status line. */
async function userWithProfile(nick = 'Ann'): Promise<string> {
  const userID = uniqueUserID();
  const response = await server.request(UPDATE, { as: userID, variables: { input: { nick, selfSignature: 'hello' } } });
  expect(response.errors).toBeUndefined();
  return userID;
}

const reasonOf = (response: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => ({
  code: response.errors?.[0]?.extensions?.code,
  reason: response.errors?.[0]?.extensions?.reason,
});

describe('deactivateAccounts and reactivateAccounts', () => {
  it('hides the account from everyone but administrators, refuses its owner, and brings it back intact', async () => {
    const [alice, bob] = [await userWithProfile('Alice'), await userWithProfile('Bob')];
    const missing = uniqueUserID();

    const deactivated = await server.request(DEACTIVATE, { ...asAdmin, variables: { ids: [alice, missing, alice] } });
    expect(deactivated.errors).toBeUndefined();
    expect(deactivated.data!.deactivateAccounts).toEqual([
      { userID: alice, exists: true, deactivated: true },
      { userID: missing, exists: false, deactivated: false },
      { userID: alice, exists: true, deactivated: true },
    ]);
    const check = await server.request(CHECK, { ...asAdmin, variables: { ids: [bob, alice] } });
    expect(check.data!.checkAccounts).toEqual([
      { userID: bob, exists: true, deactivated: false },
      { userID: alice, exists: true, deactivated: true },
    ]);

    // Others: absent from users(ids:), null in _entities.
    const seen = await server.request(USERS, { as: bob, variables: { ids: [alice, bob] } });
    expect(seen.data!.users).toEqual([{ userID: bob }]);
    const entities = await server.request(ENTITIES, {
      as: bob,
      variables: {
        reps: [
          { __typename: 'User', userID: alice },
          { __typename: 'User', userID: bob },
        ],
      },
    });
    expect(entities.data!._entities).toEqual([null, { userID: bob, nick: 'Bob' }]);

    // The owner: every call refused, and a refused write changes nothing.
    for (const [query, variables] of [
      [ME, {}],
      [USERS, { ids: [bob] }],
      [UPDATE, { input: { nick: 'changed' } }],
      [EXPORT, {}],
      [DELETE_MINE, {}],
    ] as const) {
      const refused = await server.request(query, { as: alice, variables });
      expect(reasonOf(refused)).toEqual({ code: 'FORBIDDEN', reason: 'ACCOUNT_DEACTIVATED' });
    }
    // Over WebSocket too: the connection is refused.
    const aliceSocket = socket(await server.token(alice));
    await waitFor('the refused connection to close', () => aliceSocket.closed());
    expect(aliceSocket.closed()!.code).toBe(4403);

    // Administrators still read it, data intact.
    const asAdminRead = await server.request(USER_PROFILE, { ...asAdmin, variables: { id: alice } });
    expect(asAdminRead.data!.userProfile).toMatchObject({
      nick: 'Alice',
      selfSignature: 'hello',
      accountStatus: 'DEACTIVATED',
    });

    const reactivated = await server.request(REACTIVATE, { ...asAdmin, variables: { ids: [alice, bob] } });
    expect(reactivated.data!.reactivateAccounts).toEqual([
      { userID: alice, exists: true, deactivated: false },
      { userID: bob, exists: true, deactivated: false },
    ]);
    const me = await server.request(ME, { as: alice });
    expect(me.data!.me).toMatchObject({
      userID: alice,
      nick: 'Alice',
      selfSignature: 'hello',
      accountStatus: 'ACTIVE',
    });
    expect((await server.request(USERS, { as: bob, variables: { ids: [alice] } })).data!.users).toEqual([
      { userID: alice },
    ]);

    // Audited, and only real changes wrote events.
    expect((await auditOf('deactivateAccounts', alice)).map((row) => row.outcome)).toEqual(['SUCCEEDED']);
    expect((await auditOf('reactivateAccounts', alice)).map((row) => row.outcome)).toEqual(['SUCCEEDED']);
    const { rows: events } = await server.app.database.pool.query<{ event_type: string }>(
      `SELECT event_type::text FROM profile_event WHERE user_id = $1 AND event_type <> 'PROFILE_UPDATED' ORDER BY event_id`,
      [alice],
    );
    expect(events.map((row) => row.event_type)).toEqual(['ACCOUNT_DEACTIVATED', 'ACCOUNT_REACTIVATED']);
  });

  it('reaches every instance at once: another instance refuses the owner without waiting for its re-read', async () => {
    // A re-read every ten minutes: only the tables' NOTIFY can tell this instance in time.
    const other = await startTestServer({ ACCOUNT_STATE_REFRESH_MS: '600000' });
    try {
      const ivan = await userWithProfile('Ivan');
      const ivansToken = await server.token(ivan);
      expect((await other.request(ME, { token: ivansToken })).data!.me).toMatchObject({ nick: 'Ivan' });
      await server.request(DEACTIVATE, { ...asAdmin, variables: { ids: [ivan] } });
      await waitFor('the other instance to refuse', async () =>
        reasonOf(await other.request(USERS, { token: ivansToken, variables: { ids: [ivan] } })).reason ===
        'ACCOUNT_DEACTIVATED'
          ? true
          : undefined,
      );
      await server.request(DELETE, { ...asAdmin, variables: { ids: [ivan] } });
      await waitFor('the other instance to refuse the deleted account', async () =>
        reasonOf(await other.request(USERS, { token: ivansToken, variables: { ids: [ivan] } })).reason ===
        'ACCOUNT_DELETED'
          ? true
          : undefined,
      );
    } finally {
      await other.stop();
    }
  });

  it('closes the open sockets of an account when it is deactivated', async () => {
    const carol = await userWithProfile('Carol');
    const carolSocket = socket(await server.token(carol));
    await waitFor('the connection', () => carolSocket.connectedAt());
    await server.request(DEACTIVATE, { ...asAdmin, variables: { ids: [carol] } });
    await waitFor('the socket to be closed', () => carolSocket.closed());
    expect(carolSocket.closed()).toEqual({ code: 4403, reason: 'ACCOUNT_DEACTIVATED' });
  });

  it('is for administrators only, audited when refused, and refuses more than 100 IDs without changing anything', async () => {
    const dave = await userWithProfile('Dave');
    for (const query of [DEACTIVATE, REACTIVATE, DELETE, CHECK]) {
      const refused = await server.request(query, { as: dave, variables: { ids: [dave] } });
      expect(reasonOf(refused)).toEqual({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });
    }
    expect((await auditOf('deactivateAccounts', dave)).map((row) => [row.actor_id, row.outcome])).toEqual([
      [dave, 'FORBIDDEN'],
    ]);
    expect((await auditOf('deleteAccounts', dave)).map((row) => [row.actor_id, row.outcome])).toEqual([
      [dave, 'FORBIDDEN'],
    ]);

    const ids = [dave, ...Array.from({ length: 100 }, () => uniqueUserID())];
    for (const query of [DEACTIVATE, DELETE]) {
      const tooMany = await server.request(query, { ...asAdmin, variables: { ids } });
      expect(tooMany.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids', reason: 'TOO_MANY' });
    }
    const me = await server.request(ME, { as: dave });
    expect(me.data!.me).toMatchObject({ nick: 'Dave', accountStatus: 'ACTIVE' });
  });
});

describe('deleteAccounts', () => {
  it('erases the accounts in the order asked, audits it, and lets the ID be imported again as a new account', async () => {
    const erin = await userWithProfile('Erin');
    const erinsToken = await server.token(erin);
    const missing = uniqueUserID();
    const deleted = await server.request(DELETE, { ...asAdmin, variables: { ids: [missing, erin] } });
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data!.deleteAccounts).toEqual([
      { userID: missing, deleted: false },
      { userID: erin, deleted: true },
    ]);
    expect((await server.request(CHECK, { ...asAdmin, variables: { ids: [erin] } })).data!.checkAccounts).toEqual([
      { userID: erin, exists: false, deactivated: false },
    ]);
    expect((await server.request(USER_PROFILE, { ...asAdmin, variables: { id: erin } })).data!.userProfile).toBeNull();
    expect((await auditOf('deleteAccounts', erin)).map((row) => [row.actor_id, row.outcome])).toEqual([
      [admin, 'SUCCEEDED'],
    ]);
    // Erin's token from before the deletion is refused.
    const old = await server.request(ME, { token: erinsToken });
    expect(reasonOf(old)).toEqual({ code: 'UNAUTHENTICATED', reason: 'ACCOUNT_DELETED' });

    const again = await server.request(IMPORT, { ...asAdmin, variables: { accounts: [{ userID: erin }] } });
    expect(again.data!.importAccounts).toEqual([{ userID: erin, nick: '' }]);
    const fresh = await server.request(USER_PROFILE, { ...asAdmin, variables: { id: erin } });
    expect(fresh.data!.userProfile).toMatchObject({ nick: '', selfSignature: '', accountStatus: 'ACTIVE' });
  });
});

describe('deleteMyAccount', () => {
  it('erases the account; older tokens are refused and cannot recreate it; a later token starts afresh', async () => {
    const frank = await userWithProfile('Frank');
    const token = await server.token(frank);
    const deleted = await server.request(DELETE_MINE, { token });
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data!.deleteMyAccount).toBe(true);
    const deletedSecond = Math.floor(Date.now() / 1000);

    for (const [query, variables] of [
      [ME, {}],
      [UPDATE, { input: { nick: 'back' } }],
      [DELETE_MINE, {}],
    ] as const) {
      const refused = await server.request(query, { token, variables });
      expect(reasonOf(refused)).toEqual({ code: 'UNAUTHENTICATED', reason: 'ACCOUNT_DELETED' });
    }
    expect((await server.request(CHECK, { ...asAdmin, variables: { ids: [frank] } })).data!.checkAccounts).toEqual([
      { userID: frank, exists: false, deactivated: false },
    ]);
    // The creation statement checks the tombstone itself, whatever an instance's copy says.
    expect(await server.app.services.profileRepository.createIfMissing(frank, deletedSecond - 1)).toBeUndefined();
    const oldSocket = socket(token);
    await waitFor('the refused connection to close', () => oldSocket.closed());
    expect(oldSocket.closed()!.code).toBe(4403);

    // Tokens are dated to the second: one issued in a later second is a new account.
    await waitFor('the next second', () => (Date.now() / 1000 >= deletedSecond + 1 ? true : undefined), 3000);
    const later = await issueToken(TEST_JWT_SECRET, frank);
    const me = await server.request(ME, { token: later });
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toMatchObject({ userID: frank, nick: '', selfSignature: '', profileCustomField: [] });
    // And the old token stays refused after the new account exists.
    expect(reasonOf(await server.request(ME, { token }))).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'ACCOUNT_DELETED',
    });
  });

  it('answers false when the caller has no account', async () => {
    const never = uniqueUserID();
    const response = await server.request(DELETE_MINE, { as: never });
    expect(response.data!.deleteMyAccount).toBe(false);
  });
});

describe('exportMyData', () => {
  it('holds the profile as its owner sees it, every stored custom value and the retained history', async () => {
    const [publicKey, privateKey, retiredKey] = [uniqueFieldKey(), uniqueFieldKey(), uniqueFieldKey()];
    await defineField(server, publicKey);
    await defineField(server, privateKey, { read: 'PRIVATE' });
    await defineField(server, retiredKey);
    const gina = uniqueUserID();
    await server.request(UPDATE, {
      as: gina,
      variables: {
        input: {
          nick: 'Gina',
          profileCustomField: [
            { key: publicKey, value: 'pub' },
            { key: privateKey, value: 'secret' },
            { key: retiredKey, value: 'old' },
          ],
        },
      },
    });
    await server.request(
      `mutation ($id: ID!, $input: UpdateMyProfileInput!) { setUserProfile(userID: $id, input: $input) { userID } }`,
      { ...asAdmin, variables: { id: gina, input: { selfSignature: 'set by admin' } } },
    );
    const retired = await server.request(`mutation ($key: String!) { retireProfileCustomField(key: $key) { key } }`, {
      ...asAdmin,
      variables: { key: retiredKey },
    });
    expect(retired.errors).toBeUndefined();

    const before = Date.now();
    const response = await server.request(EXPORT, { as: gina });
    expect(response.errors).toBeUndefined();
    const data = response.data!.exportMyData;
    expect(Date.parse(data.exportedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(data.profile).toMatchObject({ userID: gina, nick: 'Gina', selfSignature: 'set by admin' });
    expect(data.profile.profileCustomField).toEqual(
      [
        { key: privateKey, value: 'secret' },
        { key: publicKey, value: 'pub' },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(data.storedCustomFields).toEqual(
      [
        { key: privateKey, value: 'secret' },
        { key: publicKey, value: 'pub' },
        { key: retiredKey, value: 'old' },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(
      data.history.map((entry: { eventType: string; operator: string; changes: unknown[] }) => [
        entry.eventType,
        entry.operator,
        entry.changes,
      ]),
    ).toEqual([
      [
        'PROFILE_UPDATED',
        gina,
        [
          { field: 'nick', value: 'Gina' },
          ...[
            { field: publicKey, value: 'pub' },
            { field: privateKey, value: 'secret' },
            { field: retiredKey, value: 'old' },
          ].sort((a, b) => (a.field < b.field ? -1 : 1)),
        ],
      ],
      ['PROFILE_UPDATED', admin, [{ field: 'selfSignature', value: 'set by admin' }]],
    ]);
  });
});

describe('account events', () => {
  it('reach profileUpdated subscribers (the webhook: profile-webhook spec); a reactivated profile is delivered again', async () => {
    const helen = await userWithProfile('Helen');
    const watcher = await userWithProfile('Watcher');
    const connection = socket(await server.token(watcher));
    const live = connection.subscribe(WATCH, { ids: [helen] });
    let attempt = 0;
    await untilDelivering(
      'the subscription',
      (n) => server.request(UPDATE, { as: helen, variables: { input: { nick: `Helen ${(attempt = n)}` } } }),
      () => live.results.some((result) => result.data?.profileUpdated.nick === `Helen ${attempt}`),
    );
    const nick = `Helen ${attempt}`;

    // Each step waits for its own delivery: quick successive changes may arrive as one (the latest).
    const after = async (what: string, step: () => Promise<unknown>, status: string) => {
      const from = live.results.length;
      await step();
      return waitFor(what, () => live.results.slice(from).find((r) => r.data?.profileUpdated.accountStatus === status));
    };
    const deactivated = await after(
      'the deactivation',
      () => server.request(DEACTIVATE, { ...asAdmin, variables: { ids: [helen] } }),
      'DEACTIVATED',
    );
    expect(deactivated.data!.profileUpdated).toMatchObject({ userID: helen, nick: '', accountStatus: 'DEACTIVATED' });
    const back = await after(
      'the profile again',
      () => server.request(REACTIVATE, { ...asAdmin, variables: { ids: [helen] } }),
      'ACTIVE',
    );
    expect(back.data!.profileUpdated).toMatchObject({ userID: helen, nick, accountStatus: 'ACTIVE' });
    const gone = await after(
      'the deletion',
      () => server.request(DELETE, { ...asAdmin, variables: { ids: [helen] } }),
      'DELETED',
    );
    expect(gone.data!.profileUpdated).toMatchObject({ userID: helen, nick: '', accountStatus: 'DELETED' });
    // Dated by the deletion's own event, as is the deactivation by its time.
    const { rows } = await server.app.database.pool.query<{ event_type: string; event_time: Date }>(
      `SELECT event_type::text, event_time FROM profile_event WHERE user_id = $1 AND event_type <> 'PROFILE_UPDATED' ORDER BY event_id`,
      [helen],
    );
    const timeOf = (type: string) => rows.find((row) => row.event_type === type)!.event_time.toISOString();
    expect(gone.data!.profileUpdated.lastUpdatedTime).toBe(timeOf('ACCOUNT_DELETED'));
    expect(deactivated.data!.profileUpdated.lastUpdatedTime).toBe(timeOf('ACCOUNT_DEACTIVATED'));
  });
});
