import { Client as PgClient } from 'pg';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const UPDATE = `mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`;

describe('profile_event outbox', () => {
  let server: TestServer;
  let db: PgClient;

  beforeAll(async () => {
    server = await startTestServer();
    // Statements are counted on the server's pool: only requests may send any.
    await server.stopBackgroundWork();
    db = new PgClient({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await server?.stop();
    await db?.end();
  });

  async function update(userID: string, input: Record<string, unknown>) {
    const before = server.statements();
    const response = await server.request(UPDATE, { as: userID, variables: { input } });
    expect(response.errors).toBeUndefined();
    return server.statements() - before;
  }

  const eventsOf = async (userID: string) =>
    (
      await db.query(
        `SELECT operator, user_id, changed_fields, changed_custom_fields, event_time = p.last_updated_time AS same_time
         FROM profile_event e JOIN user_profile p USING (user_id) WHERE user_id = $1 ORDER BY event_id`,
        [userID],
      )
    ).rows;

  it('records, in the one write statement, only the values that changed', async () => {
    const userID = uniqueUserID();
    await update(userID, {
      nick: 'n',
      level: 2,
      profileCustomField: [
        { key: 'Tag_Profile_Custom_Test1', value: 'one' },
        { key: 'Tag_Profile_Custom_Test2', value: 'two' },
      ],
    });
    // The account exists now: one statement writes the profile and the event together.
    const statements = await update(userID, {
      nick: 'n',
      level: 3,
      gender: 'MALE',
      profileCustomField: [
        { key: 'Tag_Profile_Custom_Test1', value: 'one' },
        { key: 'Tag_Profile_Custom_Test2', value: '' },
        { key: 'Tag_Profile_Custom_Mood', value: 'glad' },
      ],
    });
    expect(statements).toBe(1);
    expect(await update(userID, { nick: 'n', level: 3 })).toBe(1);

    const events = await eventsOf(userID);
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual({
      operator: userID,
      user_id: userID,
      changed_fields: { level: 3, gender: 'MALE' },
      changed_custom_fields: { Tag_Profile_Custom_Test2: null, Tag_Profile_Custom_Mood: 'glad' },
      same_time: true,
    });
    expect(events[0].changed_fields).toEqual({ nick: 'n', level: 2 });
    expect(events[0].changed_custom_fields).toEqual({
      Tag_Profile_Custom_Test1: 'one',
      Tag_Profile_Custom_Test2: 'two',
    });
  });

  it('records the operator the write path is given', async () => {
    const owner = uniqueUserID('owner');
    const admin = uniqueUserID('admin');
    await server.app.services.profileRepository.createIfMissing(owner);
    const result = await server.app.services.profileRepository.applyPatch(
      owner,
      { standard: { level: 9 }, customSet: {}, customRemove: [] },
      admin,
    );
    expect(result?.changed).toBe(true);
    expect((await eventsOf(owner)).map((e) => [e.operator, e.changed_fields])).toEqual([[admin, { level: 9 }]]);
  });

  it('records imports that change an existing account, with the administrator as operator', async () => {
    const existing = uniqueUserID('imp');
    const fresh = uniqueUserID('imp');
    const admin = uniqueUserID('admin');
    await update(existing, { nick: 'before', level: 1 });
    const IMPORT = `mutation($accounts: [ImportAccountInput!]!) { importAccounts(accounts: $accounts) { userID nick avatar } }`;
    const imported = await server.request(IMPORT, {
      as: admin,
      admin: true,
      variables: {
        accounts: [
          { userID: existing, nick: 'imported', avatar: 'https://example.com/i.png' },
          { userID: fresh, nick: 'new account' },
        ],
      },
    });
    expect(imported.errors).toBeUndefined();
    // The same import again changes nothing and records nothing.
    const again = await server.request(IMPORT, {
      as: admin,
      admin: true,
      variables: { accounts: [{ userID: existing, nick: 'imported' }] },
    });
    expect(again.errors).toBeUndefined();

    const events = await eventsOf(existing);
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual({
      operator: admin,
      user_id: existing,
      changed_fields: { nick: 'imported', avatar: 'https://example.com/i.png' },
      changed_custom_fields: {},
      same_time: true,
    });
    // Creating an account is not a change to a profile (as with an account made by first use).
    expect(await eventsOf(fresh)).toEqual([]);
  });
});
